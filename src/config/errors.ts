// One error for everything wrong with a configuration. `hookd check-config` prints every
// line at once, so a user fixes the whole file in one pass instead of one error per run.

export interface ConfigIssue {
  /** The config file as the user named it, or the HOOKD_* variable the value came from. */
  file: string;
  /** Key path like "sources[1].format"; "" when the file or variable alone says where. */
  path: string;
  message: string;
  /** Set for TOML syntax errors, which point at a place in the text rather than a key. */
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.issues = issues;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === "" ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** ["sources", 1, "format"] → "sources[1].format" */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

const MAX_SHOWN = 60;

/** The value a user wrote, shown the way they would recognise it: strings quoted, tables as JSON. */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/** Builds a zod `error` option so every message reads "expected X, got Y" with the user's value. */
export function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) => `expected ${what}, got ${showValue(issue.input)}`;
}
