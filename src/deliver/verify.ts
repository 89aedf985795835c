import { Resolver } from "node:dns/promises";
import { timingSafeEqual } from "node:crypto";
import { newId } from "../lib/ids.ts";
import { attemptDelivery, type AttemptContext, type AttemptResult, type AttemptWebhook } from "./attempt.ts";

// How a target proves it wants the events, besides the test POST:
// - handshake (Salesforce Marketing Cloud): hookd POSTs {id, callbackKey, secretToken} to
//   the target; the owner sends the three values back to POST /webhooks/verify.
// - dns_txt (Copernica): the owner publishes TXT "hookd-verification=<token>" on the
//   target's domain; hookd looks it up until it appears. A verified domain (/domains: the
//   record on the domain's own name) stands for every webhook on it or under it.

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

export async function sendHandshake(
  ctx: AttemptContext,
  w: AttemptWebhook,
  keys: { callbackKey: string; secretToken: string },
  now: number,
): Promise<AttemptResult> {
  const body = new TextEncoder().encode(JSON.stringify({ id: w.id, callbackKey: keys.callbackKey, secretToken: keys.secretToken }));
  return attemptDelivery(ctx, w, newId("msg_", now), body, now);
}

/** Constant-time comparison of what the owner sent back with what hookd sent. */
export function handshakeMatches(
  expected: { callbackKey?: string; secretToken?: string },
  got: { callbackKey: string; secretToken: string },
): boolean {
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

function resolverFor(servers: readonly string[]): Resolver {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  return resolver;
}

/** `fn` with a resolver that `signal` cancels, so shutting down never waits out a DNS timeout. */
async function withResolver<T>(servers: readonly string[], signal: AbortSignal | undefined, fn: (r: Resolver) => Promise<T>): Promise<T> {
  const resolver = resolverFor(servers);
  const cancel = () => resolver.cancel();
  signal?.addEventListener("abort", cancel);
  try {
    return await fn(resolver);
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

/** Whether a TXT record of the target's host or a parent carries the token; `signal` cancels the lookups. */
export async function dnsTxtPublished(target: string, token: string, servers: readonly string[], signal?: AbortSignal): Promise<boolean> {
  return withResolver(servers, signal, async (resolver) => {
    for (const name of txtNames(target)) {
      if (signal?.aborted) return false;
      const found = await txtRecords(resolver, name);
      if ("records" in found && carriesToken(found.records, token)) return true;
    }
    return false;
  });
}

/** A domain's TXT lookup: published, or why not in words an owner can act on. */
export type DomainTxtCheck = { published: true } | { published: false; reason: string };

/** Whether the domain's own name has the TXT record hookd-verification=<token>. */
export async function domainTxtPublished(
  domain: string,
  token: string,
  servers: readonly string[],
  signal?: AbortSignal,
): Promise<DomainTxtCheck> {
  const want = `TXT record "${TXT_PREFIX}${token}"`;
  const found = await withResolver(servers, signal, (resolver) => txtRecords(resolver, domain));
  if ("error" in found) {
    const reason =
      found.error === "ENOTFOUND" || found.error === "ENODATA"
        ? `${domain} has no TXT records (DNS answered ${found.error}); publish the ${want} on ${domain}`
        : `the TXT lookup of ${domain} failed (${found.error}); check verification.dns_servers, then verify again`;
    return { published: false, reason };
  }
  if (carriesToken(found.records, token)) return { published: true };
  const n = found.records.length;
  return {
    published: false,
    reason: `${domain} has ${n} TXT record${n === 1 ? "" : "s"}, none of them the ${want}; publish it on ${domain}`,
  };
}

function carriesToken(records: readonly string[], token: string): boolean {
  const want = TXT_PREFIX + token;
  // Bun's resolver returns the strings of one multi-string record as separate records.
  return records.includes(want) || records.join("") === want;
}

/** The name's TXT records (each record's strings joined), or the resolver's error code. */
async function txtRecords(resolver: Resolver, name: string): Promise<{ records: string[] } | { error: string }> {
  try {
    return { records: (await resolver.resolveTxt(name)).map((chunks) => chunks.join("")) };
  } catch (err) {
    // NXDOMAIN / no TXT (a caller may try the parent), a timeout, or cancelled.
    const code = (err as { code?: unknown }).code;
    return { error: typeof code === "string" ? code : "lookup failed" };
  }
}
