import { isIP } from "node:net";
import os from "node:os";
import nodePath from "node:path";
import { z } from "zod";
import { parseDuration, parseSize } from "../lib/units.ts";
import { TRACK_MODES } from "../mail/control.ts";
import { parseListen as parseMilterListen } from "../milter/listen.ts";
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

// [tracking]: the public listener for opens, clicks and one-click unsubscribes.

/** What a tracked link starts with: an absolute http(s) URL, no query, fragment or credentials; "" when unset. */
export function baseUrlProblem(text: string): string | null {
  if (text === "") return null;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'an absolute URL like "https://t.example.com"';
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "an http or https URL";
  if (u.search || u.hash || text.includes("?") || text.includes("#")) return "a URL without a query or fragment";
  if (u.username || u.password) return "a URL without credentials";
  return null;
}

const baseUrl = z.string({ error: expected('a URL like "https://t.example.com"') }).superRefine((text, ctx) => {
  const problem = baseUrlProblem(text);
  if (problem) ctx.addIssue({ code: "custom", input: text, message: expected(problem)({ input: text }) });
});

/** "203.0.113.7", "10.0.0.0/8", "::1", "fd00::/8" → the address, its family and prefix; null otherwise. */
export function parseCidr(text: string): { address: string; family: "ipv4" | "ipv6"; prefix: number } | null {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m) return null;
  const v = isIP(m[1]!);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  return prefix > max ? null : { address: m[1]!, family: v === 4 ? "ipv4" : "ipv6", prefix };
}

const proxyError = expected('a list of proxy addresses or networks like ["127.0.0.1", "10.0.0.0/8"]');
const trustProxy = z
  .union([z.array(z.string()), z.string()], { error: proxyError })
  // The environment can only carry text: HOOKD_TRACKING_TRUST_PROXY="127.0.0.1,::1".
  .transform((v) =>
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  )
  .superRefine((list, ctx) => {
    list.forEach((entry, i) => {
      if (parseCidr(entry) === null)
        ctx.addIssue({
          code: "custom",
          path: [i],
          input: entry,
          message: expected('an IP address or network like "10.0.0.0/8"')({ input: entry }),
        });
    });
  });

const optionalListenError = expected('"" (off) or host:port like "0.0.0.0:8026" (port 0-65535)');
const optionalListen = z
  .string({ error: optionalListenError })
  .refine((text) => text === "" || parseListen(text) !== null, { error: optionalListenError });

const tracking = section({
  listen: optionalListen.default(""),
  base_url: baseUrl.default(""),
  opens: z.boolean({ error: expected("true or false") }).default(true),
  clicks: z.boolean({ error: expected("true or false") }).default(true),
  unsubscribe: z.boolean({ error: expected("true or false") }).default(true),
  key_verify_for: duration(1).default(180 * 86_400_000),
  fast_click: withUnits('a duration like "10s" (0 = off)', parseDuration, 0, 3_600_000, "a duration of at most 1h").default(10_000),
  trust_proxy: trustProxy.default(["127.0.0.0/8", "::1"]),
  rate_limit: int(0, 1_000_000).default(20),
})
  // A listener with no base URL would serve links nobody can be given. Checked even when
  // another key is wrong (`when`), so it is reported with every other mistake.
  .check(
    z.superRefine(
      (t: { listen?: unknown; base_url?: unknown }, ctx) => {
        if (typeof t.listen === "string" && t.listen !== "" && (t.base_url === undefined || t.base_url === "")) {
          ctx.addIssue({
            code: "custom",
            path: ["base_url"],
            input: t.base_url ?? "",
            message: `expected the URL recipients reach tracking.listen at, like "https://t.example.com" (required when tracking.listen is set), got ${showValue(t.base_url ?? "")}`,
          });
        }
      },
      { when: (payload) => typeof payload.value === "object" && payload.value !== null },
    ),
  )
  .prefault({});
// [feedback]: bounce reports, complaints and unsubscribe mail, delivered to hookd over LMTP
// (or piped to `hookd feedback`).

/** "127.0.0.1:8024" → host and port; "unix:/run/hookd/lmtp.sock" → an absolute socket path; null otherwise. */
export function parseFeedbackListen(text: string): { host: string; port: number } | { path: string } | null {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    // sun_path holds 108 bytes with its NUL; a longer path fails only at bind time, obscurely.
    return path.startsWith("/") && Buffer.byteLength(path) < 108 && !path.includes("\0") ? { path } : null;
  }
  return parseListen(text);
}

const feedbackListenError = expected('"" (off), host:port like "127.0.0.1:8024", or "unix:/run/hookd/lmtp.sock"');
const feedbackListen = z
  .string({ error: feedbackListenError })
  .refine((text) => text === "" || parseFeedbackListen(text) !== null, { error: feedbackListenError });

// A DNS name: labels of letters, digits and hyphens, not starting or ending with a hyphen.
const HOST_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const verpDomain = z
  .string({ error: expected('"" (off) or a domain like "bounces.example.com"') })
  .refine((text) => text === "" || (HOST_NAME.test(text) && text.includes(".")), {
    error: expected('"" (off) or a domain like "bounces.example.com"'),
  });

const mtaNamesError = expected('a list of MTA host names like ["mx1.example.com"]');
const mtaNames = z
  .union([z.array(z.string()), z.string()], { error: mtaNamesError })
  // The environment can only carry text: HOOKD_FEEDBACK_LOCAL_MTAS="mx1.example.com,mx2.example.com".
  .transform((v) =>
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  )
  .superRefine((list, ctx) => {
    list.forEach((entry, i) => {
      if (!HOST_NAME.test(entry))
        ctx.addIssue({
          code: "custom",
          path: [i],
          input: entry,
          message: expected('an MTA host name like "mx1.example.com"')({ input: entry }),
        });
    });
  });

const feedback = section({
  listen: feedbackListen.default(""),
  verp: verpDomain.default(""),
  max_size: withUnits('a size from 1KB to 100MB like "10MB"', parseSize, KB, 100 * KB * KB, "a size of at most 100MB").default(
    10 * KB * KB,
  ),
  // Empty: this machine's hostname (resolved when hookd starts, so the example file can say it).
  local_mtas: mtaNames.default([]),
}).prefault({});

// [milter]: tracking in the mail path for Postfix (smtpd_milters / non_smtpd_milters).
const milterListenError = expected('"" (off), host:port like "127.0.0.1:8891", or "unix:/run/hookd/milter.sock"');
const milter = section({
  listen: z
    .string({ error: milterListenError })
    .superRefine((text, ctx) => {
      if (text === "") return;
      try {
        parseMilterListen(text);
      } catch (err) {
        ctx.addIssue({ code: "custom", input: text, message: `${milterListenError({ input: text })} (${(err as Error).message})` });
      }
    })
    .default(""),
  track: oneOf(TRACK_MODES).default("header"),
  // Held per MTA connection while a message passes (and about as much again for its tracked
  // copy); larger messages pass unchanged. Newsletters are far below it.
  max_message_size: withUnits(
    'a size from 64KB to 100MB like "10MB"',
    parseSize,
    64 * KB,
    100 * KB * KB,
    "a size of at most 100MB",
  ).default(10 * KB * KB),
  // Longest hookd spends on one message; then it passes unchanged. Keep it well under
  // Postfix's milter_content_timeout (300s).
  timeout: withUnits('a duration above 0 like "10s"', parseDuration, 1, 300_000, "a duration of at most 5m").default(10_000),
}).prefault({});

export const ConfigSchema = section({
  server: section({
    listen: listen.default("127.0.0.1:8025"),
    // 10,000 events of ~500 bytes. Measured on the built binary (idle 69 MB): a 5 MB POST of
    // 10,000 events peaks at ~150 MB RSS; 10 MB at ~170-200 MB; 29 MB at ~300 MB.
    max_body_size: size(KB).default(5 * KB * KB),
    body_timeout: duration(1, TIMER_MAX_MS).default(30_000),
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
