import type { ConfigIssue } from "./errors.ts";
import { defaultConfig } from "./schema.ts";

// HOOKD_<SECTION>_<KEY> overrides one key, so containers and systemd units can adjust a
// setting without templating a file. Values are merged into the raw TOML table before
// validation, so an env value is checked by exactly the same rules as a file value.

export interface EnvOverride {
  variable: string;
  section: string;
  key: string;
  value: unknown;
}

/** Variables that look like ours but are not overrides. */
const NOT_OVERRIDES = new Set(["HOOKD_CONFIG"]);

export function readEnvOverrides(env: Record<string, string | undefined>): {
  overrides: EnvOverride[];
  issues: ConfigIssue[];
} {
  // The defaults say which keys exist and whether a value is a boolean or a number.
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  const overrides: EnvOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const [variable, text] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (text === undefined || !variable.startsWith("HOOKD_") || NOT_OVERRIDES.has(variable)) continue;
    const rest = variable.slice("HOOKD_".length).toLowerCase();
    const cut = rest.indexOf("_");
    const section = cut === -1 ? rest : rest.slice(0, cut);
    const key = cut === -1 ? "" : rest.slice(cut + 1);
    // Unrelated HOOKD_* variables (a wrapper script's, say) are none of our business.
    if (!Object.hasOwn(defaults, section)) continue;
    const table = defaults[section];
    if (Array.isArray(table)) {
      issues.push({ file: variable, path: "", message: `${section} cannot be set from the environment; use the config file` });
      continue;
    }
    const fields = table as Record<string, unknown>;
    if (!Object.hasOwn(fields, key)) {
      issues.push({ file: variable, path: "", message: "unknown key" });
      continue;
    }
    overrides.push({ variable, section, key, value: coerce(text, fields[key]) });
  }
  return { overrides, issues };
}

/**
 * Env values are always text; turn them into what TOML would have given for this key.
 * Text that does not fit stays text, so the schema reports it as "got "yes"".
 */
function coerce(text: string, defaultValue: unknown): unknown {
  if (typeof defaultValue === "boolean") {
    const lower = text.trim().toLowerCase();
    return lower === "true" ? true : lower === "false" ? false : text;
  }
  // Durations and sizes default to numbers too, so "10000" means ms or bytes as in TOML.
  if (typeof defaultValue === "number" && /^\s*\d+\s*$/.test(text)) return Number(text);
  return text;
}

/**
 * Returns a copy of `raw` with the overrides applied, and which key path each variable set,
 * so an error about that key can name the variable instead of the file.
 */
export function applyEnvOverrides(
  raw: Record<string, unknown>,
  overrides: EnvOverride[],
): { merged: Record<string, unknown>; origins: Map<string, string> } {
  const merged: Record<string, unknown> = { ...raw };
  const origins = new Map<string, string>();
  for (const { variable, section, key, value } of overrides) {
    const table = merged[section] ?? {};
    // A section that is not a table is already an error in the file; leave it to be reported.
    if (typeof table !== "object" || table === null || Array.isArray(table) || table instanceof Date) continue;
    merged[section] = { ...(table as Record<string, unknown>), [key]: value };
    origins.set(`${section}.${key}`, variable);
  }
  return { merged, origins };
}
