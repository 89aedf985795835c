import { Resolver } from "node:dns/promises";
import { timingSafeEqual } from "node:crypto";
import { newId } from "../lib/ids.ts";
import { attemptDelivery, type AttemptContext, type AttemptResult, type AttemptWebhook } from "./attempt.ts";

// How a target proves it wants the events, besides the test POST:
// - handshake (Salesforce Marketing Cloud): hookd POSTs {id, callbackKey, secretToken} to
//   the target; the owner sends the three values back to POST /webhooks/verify.
// - dns_txt (Copernica): the owner publishes TXT "hookd-verification=<token>" on the
//   target's domain; hookd looks it up until it appears.

export const TXT_PREFIX = "hookd-verification=";

function randomToken(bytes = 24): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export function newHandshake(): { callbackKey: string; secretToken: string } {
  return { callbackKey: randomToken(16), secretToken: randomToken(24) };
}

export function newDnsToken(): string {
  return randomToken(18);
}

export async function sendHandshake(ctx: AttemptContext, w: AttemptWebhook, keys: { callbackKey: string; secretToken: string }, now: number): Promise<AttemptResult> {
  const body = new TextEncoder().encode(JSON.stringify({ id: w.id, callbackKey: keys.callbackKey, secretToken: keys.secretToken }));
  return attemptDelivery(ctx, w, newId("msg_", now), body, now);
}

/** Constant-time comparison of what the owner sent back with what hookd sent. */
export function handshakeMatches(expected: { callbackKey?: string; secretToken?: string }, got: { callbackKey: string; secretToken: string }): boolean {
  const eq = (a: string | undefined, b: string) => {
    if (a === undefined) return false;
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  // Both compared, always, so the time taken does not tell which one was wrong.
  const k = eq(expected.callbackKey, got.callbackKey);
  const s = eq(expected.secretToken, got.secretToken);
  return k && s;
}

/** The names whose TXT records may carry the token: the target's host and its parents. */
export function txtNames(target: string): string[] {
  const host = new URL(target).hostname.replace(/\.$/, "");
  if (/^[\d.]+$/.test(host) || host.includes(":") || host.startsWith("[")) return [];
  const labels = host.split(".");
  const names: string[] = [];
  for (let i = 0; i < labels.length - 1 || (labels.length === 1 && i === 0); i++) names.push(labels.slice(i).join("."));
  return names;
}

/** Whether a TXT record of the target's host or a parent carries the token; `signal` cancels the lookups. */
export async function dnsTxtPublished(target: string, token: string, servers: readonly string[], signal?: AbortSignal): Promise<boolean> {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  const cancel = () => resolver.cancel();
  signal?.addEventListener("abort", cancel);
  try {
    for (const name of txtNames(target)) {
      if (signal?.aborted) return false;
      if (await hasToken(resolver, name, token)) return true;
    }
    return false;
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

async function hasToken(resolver: Resolver, name: string, token: string): Promise<boolean> {
  try {
    const records = await resolver.resolveTxt(name);
    const want = TXT_PREFIX + token;
    // Bun's resolver returns the strings of one multi-string record as separate records.
    return records.some((chunks) => chunks.join("") === want) || records.map((r) => r.join("")).join("") === want;
  } catch {
    return false; // NXDOMAIN / no TXT (the caller tries the parent), or cancelled
  }
}
