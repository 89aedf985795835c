import fs from "node:fs";
import path from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { applyEnvOverrides, readEnvOverrides } from "./env.ts";
import { ConfigError, type ConfigIssue, formatKeyPath } from "./errors.ts";
import { type Config, ConfigSchema } from "./schema.ts";

// Finds the config file, reads it, applies HOOKD_* overrides and validates the result,
// returning a Config or throwing one ConfigError that lists every problem found.

export const ETC_CONFIG_PATH = "/etc/hookd/hookd.toml";

type Env = Record<string, string | undefined>;

export interface LoadOptions {
  /** From `--config`; wins over everything else. */
  path?: string;
  env?: Env;
  cwd?: string;
  /** Injectable so tests do not depend on the machine's /etc. */
  etcPath?: string;
}

export interface LoadedConfig {
  config: Config;
  /** The file used, as named in error messages; null when running on built-in defaults. */
  file: string | null;
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const found = findConfigFile(opts.path, env, cwd, opts.etcPath ?? ETC_CONFIG_PATH);
  if (found === null) return { config: resolveConfig({}, null, env), file: null };

  let text: string;
  try {
    text = fs.readFileSync(path.resolve(cwd, found.file), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT" && found.explicit
        ? `config file not found (given by ${found.explicit})`
        : `cannot read config file: ${code ?? (err as Error).message}`;
    throw new ConfigError([{ file: found.file, path: "", message }]);
  }
  return { config: parseConfigText(text, found.file, env), file: found.file };
}

interface FoundFile {
  file: string;
  /** What named the file, when the user did; such a file must exist. */
  explicit?: "--config" | "HOOKD_CONFIG";
}

function findConfigFile(flag: string | undefined, env: Env, cwd: string, etcPath: string): FoundFile | null {
  if (flag !== undefined) return { file: flag, explicit: "--config" };
  // An empty variable is how shells and compose files "unset" things; treat it as absent.
  const fromEnv = env.HOOKD_CONFIG;
  if (fromEnv !== undefined && fromEnv !== "") return { file: fromEnv, explicit: "HOOKD_CONFIG" };
  // Labelled as the user would type it from the directory hookd runs in.
  if (fs.existsSync(path.join(cwd, "hookd.toml"))) return { file: "hookd.toml" };
  if (fs.existsSync(etcPath)) return { file: etcPath };
  return null;
}

/** Pure: TOML text (labelled `file` in messages) plus HOOKD_* overrides → Config or ConfigError. */
export function parseConfigText(text: string, file: string, env: Env = {}): Config {
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    // Later mistakes cannot be found in a file that does not parse; env ones still can.
    const issues: ConfigIssue[] = [tomlIssue(err, file), ...readEnvOverrides(env).issues];
    throw new ConfigError(issues);
  }
  return resolveConfig(raw, file, env);
}

function tomlIssue(err: TomlError, file: string): ConfigIssue {
  // smol-toml's message is "Invalid TOML document: <what>\n\n<code frame>"; keep only <what>.
  const what = err.message.split("\n")[0]!.replace(/^Invalid TOML document:\s*/, "");
  return { file, path: "", line: err.line, column: err.column, message: `invalid TOML: ${what}` };
}

/** Raw table (from TOML, or {} for defaults) + env → Config; every problem in one ConfigError. */
export function resolveConfig(raw: Record<string, unknown>, file: string | null, env: Env): Config {
  const { overrides, issues: envIssues } = readEnvOverrides(env);
  const { merged, origins } = applyEnvOverrides(raw, overrides);
  const result = ConfigSchema.safeParse(merged);
  if (result.success && envIssues.length === 0) return result.data;

  const issues: ConfigIssue[] = [];
  for (const zodIssue of result.error?.issues ?? []) {
    const keys = zodIssue.code === "unrecognized_keys" ? zodIssue.keys : [null];
    for (const extra of keys) {
      const keyPath = formatKeyPath(extra === null ? zodIssue.path : [...zodIssue.path, extra]);
      const variable = origins.get(keyPath);
      if (variable !== undefined) issues.push({ file: variable, path: "", message: zodIssue.message });
      // Without a file every value came from defaults or env, so this cannot happen; keep a label anyway.
      else issues.push({ file: file ?? "built-in defaults", path: keyPath, message: zodIssue.message });
    }
  }
  throw new ConfigError([...issues, ...envIssues]);
}
