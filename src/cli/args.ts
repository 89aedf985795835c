// A small argv parser: hookd's commands take a handful of --flags and positionals, not
// enough to justify a dependency.

export class UsageError extends Error {
  override name = "UsageError";
}

export type ParsedArgs = { positionals: string[]; flags: Map<string, string | true> };

/** Flags that take a value; anything else starting with -- is a boolean switch. */
const VALUE_FLAGS = new Set(["--config", "--name", "--scopes", "--format", "--sender", "--recipient", "--rcpt", "--queue-id", "--log"]);
/** Value flags for which "" means something: the null sender of `hookd feedback --sender ""`. */
const EMPTY_OK = new Set(["--sender"]);

export function parseArgs(argv: readonly string[], allowed: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (!allowed.includes(name)) throw new UsageError(`unknown option ${name}`);
      if (VALUE_FLAGS.has(name)) {
        const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined || (value === "" && !EMPTY_OK.has(name))) throw new UsageError(`${name} needs a value`);
        flags.set(name, value);
      } else {
        if (eq > 0) throw new UsageError(`${name} takes no value`);
        flags.set(name, true);
      }
    } else if (a.startsWith("-") && a !== "-") {
      if (a === "-h" && allowed.includes("--help")) flags.set("--help", true);
      else throw new UsageError(`unknown option ${a}`);
    } else positionals.push(a);
  }
  return { positionals, flags };
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
}
