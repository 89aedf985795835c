import os from "node:os";
import nodePath from "node:path";
import { z } from "zod";
import { parseDuration, parseSize } from "../lib/units.ts";
import { expected, formatKeyPath, showValue } from "./errors.ts";
import { LOG_FORMATS, type LogFormat } from "./log-formats.ts";

// The one definition of hookd's configuration: keys, defaults, validation and the message
// for each mistake. The loader, `check-config`, the env overrides and config.example.toml
// all follow from this file. Every message is "expected X, got Y", completed here where the
// user's value is at hand, so the loader only has to prefix the file and key path.

/** The log formats hookd reads: the one list (log-formats.ts), for [[sources]] format, the CLI's --format and the ingest envelope reader. */
export { LOG_FORMATS, type LogFormat };
export const START_AT = ["end", "beginning"] as const;
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

const KB = 1000;

function int(min: number, max: number) {
  const error = expected(`an integer from ${min} to ${max}`);
  return z.int({ error }).min(min, { error }).max(max, { error });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(", ")}`) });
}

/**
 * A value written as text with units, or as a plain integer already in the base unit
 * (ms or bytes), because both are natural in TOML and env vars can only carry digits.
 */
function withUnits(what: string, parse: (text: string) => number | null, min: number, max = Number.MAX_SAFE_INTEGER, tooBig = "") {
  const error = expected(what);
  return z.union([z.string(), z.number()], { error }).transform((input, ctx) => {
    const value = typeof input === "number" ? (Number.isSafeInteger(input) ? input : null) : parse(input);
    if (value !== null && value > max) {
      ctx.addIssue({ code: "custom", message: expected(tooBig)({ input }), input });
      return z.NEVER;
    }
    if (value === null || value < min) {
      ctx.addIssue({ code: "custom", message: error({ input }), input });
      return z.NEVER;
    }
    return value;
  });
}

// Durations that end up in a timer stay under setTimeout's limit (2^31 ms ≈ 24.8 days),
// past which it fires at once instead.
const TIMER_MAX_MS = 24 * 86_400_000;
const duration = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  withUnits(min > 0 ? `a duration above 0 like "6s"` : `a duration like "6s"`, parseDuration, min, max, `a duration of at most 24d`);
const size = (min: number) => withUnits(`a size of at least ${min / KB}KB like "5MB"`, parseSize, min);

/** "127.0.0.1:8025", "localhost:0", "[::1]:8025" → host (no brackets) and port; null otherwise. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

const listenError = expected(`host:port like "127.0.0.1:8025" or "[::1]:8025" (port 0-65535)`);
const listen = z.string({ error: listenError }).refine((text) => parseListen(text) !== null, { error: listenError });

const nonEmpty = (what: string) => {
  const error = expected(what);
  return z.string({ error }).min(1, { error });
};

/** Sections are strict so that a typo ("batch_size") is reported instead of silently ignored. */
function section<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? "unknown key" : expected("a table")(issue)),
  });
}

export const SourceSchema = section({
  path: nonEmpty("a log file path"),
  format: oneOf(LOG_FORMATS).default("postfix"),
  start_at: oneOf(START_AT).default("end"),
  host: nonEmpty("a host name").default(() => os.hostname()),
  rotate_wait: duration(0, TIMER_MAX_MS).default(5000),
});

const sources = z
  .array(SourceSchema, { error: expected("an array of tables ([[sources]])") })
  // Two tailers on one file would emit every event twice. Runs even when another entry is
  // wrong (`when`) so a duplicate is reported together with every other mistake.
  .check(
    z.superRefine(
      (entries: unknown[], ctx) => {
        const seen = new Map<string, number>();
        entries.forEach((entry, i) => {
          const path = (entry as { path?: unknown } | null)?.path;
          if (typeof path !== "string") return;
          // normalize() so "./mail.log" and "mail.log" count as one file; pure, unlike resolve().
          const key = nodePath.normalize(path);
          const first = seen.get(key);
          if (first === undefined) seen.set(key, i);
          else
            ctx.addIssue({
              code: "custom",
              path: [i, "path"],
              input: path,
              message: `expected a path not already used by ${formatKeyPath(["sources", first, "path"])}, got ${showValue(path)}`,
            });
        });
      },
      { when: (payload) => Array.isArray(payload.value) },
    ),
  )
  .default([]);

export const ConfigSchema = section({
  server: section({
    listen: listen.default("127.0.0.1:8025"),
    max_body_size: size(KB).default(32 * KB * KB),
    rate_limit: int(0, 1_000_000).default(1000),
  }).prefault({}),
  storage: section({
    path: nonEmpty("a file path").default("./data/hookd.db"),
    retention: duration().default(7 * 86_400_000),
  }).prefault({}),
  sources,
  delivery: section({
    batch_max_events: int(1, 100_000).default(10_000),
    batch_max_bytes: size(KB).default(5 * KB * KB),
    batch_max_wait: duration(0, TIMER_MAX_MS).default(1000),
    timeout: duration(1, TIMER_MAX_MS).default(6000),
    retry_for: duration().default(4 * 3_600_000),
    max_in_flight: int(1, 64).default(1),
  }).prefault({}),
  security: section({
    allow_private_targets: z.boolean({ error: expected("true or false") }).default(true),
  }).prefault({}),
  events: section({
    custom_types: z
      .array(
        z.string({ error: expected("a custom event name like \"profile.updated\"") }).regex(/^[a-z][a-z0-9_.-]{0,63}$/, {
          error: expected("a lower-case custom event name like \"profile.updated\""),
        }),
        { error: expected("a list of custom event names") },
      )
      .default([]),
  }).prefault({}),
  verification: section({
    dns_servers: z
      .array(listen, { error: expected('a list of "host:port" DNS servers') })
      .max(8, { error: expected("at most 8 DNS servers") })
      .default([]),
    dns_interval: duration(1, TIMER_MAX_MS).default(60_000),
  }).prefault({}),
  log: section({
    level: oneOf(LOG_LEVELS).default("info"),
  }).prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type SourceConfig = z.infer<typeof SourceSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a first run uses when there is no file and no HOOKD_* variable. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}
