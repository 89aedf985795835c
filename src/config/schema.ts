import os from "node:os";
import nodePath from "node:path";
import { z } from "zod";
import { expected, formatKeyPath, showValue } from "./errors.ts";
import { duration, int, KB, listen, nonEmpty, oneOf, parseListen, section, size, TIMER_MAX_MS } from "./fields.ts";
import { LOG_FORMATS, type LogFormat } from "./log-formats.ts";
import { storage } from "./storage.ts";
import { baseUrlProblem, feedback, milter, parseCidr, parseFeedbackListen, tracking } from "./mail-path.ts";

// The one definition of hookd's configuration: keys, defaults, validation and the message
// for each mistake. The loader, `check-config`, the env overrides and config.example.toml
// all follow from this file. Every message is "expected X, got Y", completed here where the
// user's value is at hand, so the loader only has to prefix the file and key path.

/** The log formats hookd reads: the one list (log-formats.ts), for [[sources]] format, the CLI's --format and the ingest envelope reader. */
export { LOG_FORMATS, type LogFormat };
export { baseUrlProblem, parseCidr, parseFeedbackListen, parseListen };
export const START_AT = ["end", "beginning"] as const;
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

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
    // 10,000 events of ~500 bytes. Measured on the built binary (idle 69 MB): a 5 MB POST of
    // 10,000 events peaks at ~150 MB RSS; 10 MB at ~170-200 MB; 29 MB at ~300 MB.
    max_body_size: size(KB).default(5 * KB * KB),
    body_timeout: duration(1, TIMER_MAX_MS).default(30_000),
    rate_limit: int(0, 1_000_000).default(1000),
  }).prefault({}),
  storage,
  sources,
  delivery: section({
    batch_max_events: int(1, 100_000).default(10_000),
    batch_max_bytes: size(KB).default(5 * KB * KB),
    batch_max_wait: duration(0, TIMER_MAX_MS).default(1000),
    timeout: duration(1, TIMER_MAX_MS).default(6000),
    retry_for: duration().default(4 * 3_600_000),
    max_in_flight: int(1, 64).default(1),
    // Replays copy events into new batches: at ~450 bytes each, 250,000 waiting keep one
    // webhook's replays to ~110 MB of store.
    replay_max_pending: int(1, 100_000_000).default(250_000),
  }).prefault({}),
  security: section({
    allow_private_targets: z.boolean({ error: expected("true or false") }).default(true),
  }).prefault({}),
  events: section({
    custom_types: z
      .array(
        z.string({ error: expected('a custom event name like "profile.updated"') }).regex(/^[a-z][a-z0-9_.-]{0,63}$/, {
          error: expected('a lower-case custom event name like "profile.updated"'),
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
  tracking,
  feedback,
  milter,
})
  // Tracked mail needs links: the milter cannot track without [tracking] base_url.
  .check(
    z.superRefine(
      (c: { milter?: { listen?: unknown; track?: unknown }; tracking?: { base_url?: unknown } }, ctx) => {
        const m = c.milter;
        if (!m || typeof m.listen !== "string" || m.listen === "" || m.track === "off") return;
        const base = c.tracking?.base_url;
        if (typeof base === "string" && base !== "") return;
        ctx.addIssue({
          code: "custom",
          path: ["tracking", "base_url"],
          input: base ?? "",
          message: `expected the URL tracked links start with, like "https://t.example.com" (required when milter.listen is set and milter.track is not "off"), got ${showValue(base ?? "")}`,
        });
      },
      { when: (payload) => typeof payload.value === "object" && payload.value !== null },
    ),
  );

export type Config = z.infer<typeof ConfigSchema>;
export type SourceConfig = z.infer<typeof SourceSchema>;
export type TrackingConfig = Config["tracking"];
export type FeedbackConfig = Config["feedback"];
export type MilterConfig = Config["milter"];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a first run uses when there is no file and no HOOKD_* variable. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}
