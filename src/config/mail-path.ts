import { isIP } from "node:net";
import { z } from "zod";
import { TRACK_MODES } from "../mail/control.ts";
import { parseListen as parseMilterListen } from "../milter/listen.ts";
import { expected, showValue } from "./errors.ts";
import { parseDuration, parseSize } from "../lib/units.ts";
import { duration, int, KB, oneOf, parseListen, section, withUnits } from "./fields.ts";

// The mail-path sections: [tracking] (the public listener), [feedback] (bounce and complaint
// mail) and [milter] (tracking in Postfix's mail path).

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

/**
 * A list of strings, each checked by `valid` (an issue per bad entry, at its index). Also
 * written as one comma-separated string: the environment can only carry text.
 */
function textList(listWhat: string, entryWhat: string, valid: (entry: string) => boolean) {
  return z
    .union([z.array(z.string()), z.string()], { error: expected(listWhat) })
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
        if (!valid(entry)) ctx.addIssue({ code: "custom", path: [i], input: entry, message: expected(entryWhat)({ input: entry }) });
      });
    });
}

// HOOKD_TRACKING_TRUST_PROXY="127.0.0.1,::1" from the environment.
const trustProxy = textList(
  'a list of proxy addresses or networks like ["127.0.0.1", "10.0.0.0/8"]',
  'an IP address or network like "10.0.0.0/8"',
  (entry) => parseCidr(entry) !== null,
);

const optionalListenError = expected('"" (off) or host:port like "0.0.0.0:8026" (port 0-65535)');
const optionalListen = z
  .string({ error: optionalListenError })
  .refine((text) => text === "" || parseListen(text) !== null, { error: optionalListenError });

export const tracking = section({
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

// HOOKD_FEEDBACK_LOCAL_MTAS="mx1.example.com,mx2.example.com" from the environment.
const mtaNames = textList('a list of MTA host names like ["mx1.example.com"]', 'an MTA host name like "mx1.example.com"', (entry) =>
  HOST_NAME.test(entry),
);

export const feedback = section({
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
export const milter = section({
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
