import { isIP } from "node:net";
import { postBatch, type PostBatchInput, type PostBatchResult } from "./http-client.ts";
import { checkTarget, type ResolveHost } from "./target-guard.ts";

// With security.allow_private_targets = false every request to a webhook-controlled URL (the
// target, an OAuth2 token URL) goes through here: the name is resolved once, every address is
// checked, and the request connects to a checked address — fetch never resolves the name
// again, so a DNS answer that changes in between (rebinding) cannot send it elsewhere.
//
// Pinning with Bun's fetch (verified on 1.3.14, test/deliver/target-pinning.test.ts): the URL
// names the address; the `Host` header keeps the name for the receiver; for HTTPS,
// `tls.serverName` sends the name as SNI and verifies the certificate for it, against the
// usual trust store. tls.serverName also keys Bun's connection pool: a connection verified for
// one name is never reused for another name on the same address. (A Host header alone would
// set SNI too, but pooled connections would then be shared across names unverified.)

/** The guard refused the target (security.allow_private_targets = false): nothing was sent. */
export type RefusedTarget = { kind: "private_target"; reason: string; latencyMs: number };

export type GuardedPostResult = PostBatchResult | RefusedTarget;

/** How the guard resolves and what a pinned HTTPS request trusts; production leaves both out. */
export type GuardOptions = {
  /** Default: the system resolver. Tests point it at their DNS server. */
  resolve?: ResolveHost;
  /** A CA certificate (PEM) to trust instead of the system's, for tests' own receivers. */
  ca?: string;
};

/** postBatch behind the private-target guard; a refused target is a failed attempt that never connects. */
export async function guardedPost(
  input: PostBatchInput,
  allowPrivateTargets: boolean,
  opts: GuardOptions = {},
): Promise<GuardedPostResult> {
  // The default, and the fan-out's hot path: no lookup, no rewriting.
  if (allowPrivateTargets) return postBatch(input);
  const check = await checkTarget(input.url, opts.resolve);
  if (!check.ok) {
    // A name that does not resolve is a DNS failure like any other, retried as one.
    if (check.unresolved) return { kind: "network", error: "ENOTFOUND", latencyMs: 0 };
    return { kind: "private_target", reason: check.reason, latencyMs: 0 };
  }
  if (check.addresses === null) return postBatch(opts.ca ? { ...input, tls: { ca: opts.ca } } : input);
  return postPinned(input, check.addresses, opts.ca);
}

// Refused or unreachable before a byte was sent: the next checked address may answer.
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL", "NetworkUnreachable", "HostUnreachable"]);

/**
 * POSTs to `input.url` through the given addresses of its host, in order: the next one only
 * when a connection could not be opened, all within the one timeout.
 */
export async function postPinned(input: PostBatchInput, addresses: readonly string[], ca?: string): Promise<PostBatchResult> {
  const url = new URL(input.url);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  for (let i = 0; ; i++) {
    const r = await postBatch(pinnedInput(input, url, addresses[i]!, ca, input.timeoutMs - elapsed()));
    const last = i + 1 >= addresses.length || input.timeoutMs - elapsed() <= 0;
    if (last || r.kind !== "network" || !NOT_CONNECTED.has(r.error)) return { ...r, latencyMs: elapsed() };
  }
}

function pinnedInput(input: PostBatchInput, url: URL, address: string, ca: string | undefined, timeoutMs: number): PostBatchInput {
  const pinned = new URL(url);
  pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
  // url.host is what fetch would have sent: the name, and the port unless it is the default.
  const headers = { ...input.headers, host: url.host };
  if (url.protocol !== "https:") return { ...input, url: pinned.href, headers, timeoutMs };
  // SNI carries no trailing dot (RFC 6066); the certificate names none either.
  const serverName = url.hostname.replace(/\.$/, "");
  return { ...input, url: pinned.href, headers, timeoutMs, tls: ca ? { serverName, ca } : { serverName } };
}
