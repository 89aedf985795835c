// One delivery attempt: POST the batch, return a named result, never throw. The receiver
// is untrusted, so everything it controls is bounded: time (one deadline covers connect,
// headers and body), body size (read at most maxResponseBytes, then hang up) and
// redirects (never followed: a signed batch must not be re-sent to a URL nobody configured).
// A 2xx status line delivers the batch: receivers are told to answer first and work after
// (Momentum's webhook document), so what follows it is only read for a short snippet.
import type { RetryOutcome } from "./retry-policy.ts";

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
const SNIPPET_BYTES = 1024;
/** After a 2xx status line: read at most this much of the body, for at most this long, then hang up. */
export const AFTER_2XX = { maxBytes: 512, maxMs: 1000 } as const;

export type PostBatchInput = {
  url: string;
  /**
   * ArrayBuffer-backed: fetch cannot send a view of a SharedArrayBuffer. A Blob goes out
   * without a copy; fetch copies a Uint8Array on every request (measured: 0.45 ms per 3.5 MB).
   */
  body: Uint8Array<ArrayBuffer> | Blob;
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes?: number;
  /** Keep this many bytes of the body as `bodySnippet` (default 1 KiB; a token endpoint needs more). */
  keepResponseBytes?: number;
  /**
   * Read a 2xx's body to its end (within the deadline and maxResponseBytes), for callers that
   * need the body itself (a token endpoint's JSON). Otherwise a 2xx ends the request after
   * AFTER_2XX of its body.
   */
  wholeBody?: boolean;
  /** HTTPS to an address on behalf of a name: SNI and the certificate check use serverName (guarded-post.ts). */
  tls?: { serverName?: string; ca?: string };
};

export type PostBatchResult =
  | {
      kind: "response";
      status: number;
      headers: Record<string, string>;
      /** First 1 KiB of the body (of a 2xx: of the AFTER_2XX read) as text, for batch-status and the validate endpoint. */
      bodySnippet: string;
      /** How much of the body was read (≤ maxResponseBytes). */
      bodyBytesRead: number;
      latencyMs: number;
    }
  | { kind: "timeout"; latencyMs: number }
  | { kind: "network"; error: string; latencyMs: number };

export type AttemptFailureCode =
  | `http_${number}`
  | `redirect_${number}`
  | "timeout"
  | "connection_refused"
  | "connection_reset"
  | "dns"
  | "tls"
  | "private_target"
  | "network";

const snippetDecoder = new TextDecoder("utf-8", { fatal: false });

export async function postBatch(input: PostBatchInput): Promise<PostBatchResult> {
  const maxBytes = input.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  // AbortSignal.timeout would do for fetch alone, but the deadline must also cover the body
  // read and be cleared when we finish early, so own the controller and the timer.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, input.timeoutMs);
  try {
    const res = await fetch(input.url, {
      method: "POST",
      body: input.body,
      headers: input.headers,
      redirect: "manual",
      signal: controller.signal,
      ...(input.tls && { tls: input.tls }),
    });
    const keep = input.keepResponseBytes ?? SNIPPET_BYTES;
    const delivered = res.status >= 200 && res.status <= 299 && !input.wholeBody;
    // A 2xx is the answer: neither a slow body nor the deadline firing during it undoes it.
    const { head, read, complete } = delivered
      ? await readCapped(res, Math.min(maxBytes, AFTER_2XX.maxBytes), keep, performance.now() + AFTER_2XX.maxMs)
      : await readCapped(res, maxBytes, keep);
    // Bun's fetch keeps downloading the rest of a cancelled body into the void; only an
    // abort closes the connection, which is what a receiver streaming gigabytes deserves.
    if (!complete) controller.abort();
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return {
      kind: "response",
      status: res.status,
      headers,
      bodySnippet: snippetDecoder.decode(head),
      bodyBytesRead: read,
      latencyMs: latency(),
    };
  } catch (err) {
    if (timedOut || isTimeoutError(err)) return { kind: "timeout", latencyMs: latency() };
    return { kind: "network", error: networkErrorCode(err), latencyMs: latency() };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Read at most `maxBytes` of the body, keeping only the first `keepBytes`: the rest is read
 * (and dropped) so a well-behaved receiver's connection can be reused. With `stopAt` (a
 * performance.now() time) reading also ends then, and a failed read ends it quietly: what
 * was read so far is the result.
 */
async function readCapped(
  res: Response,
  maxBytes: number,
  keepBytes: number,
  stopAt?: number,
): Promise<{ head: Uint8Array; read: number; complete: boolean }> {
  const head = new Uint8Array(Math.min(keepBytes, maxBytes));
  let kept = 0;
  let read = 0;
  let complete = !res.body;
  const reader = res.body?.getReader();
  try {
    while (reader && read < maxBytes) {
      const chunk = stopAt === undefined ? await reader.read() : await readUntil(reader, stopAt);
      if (chunk === null) break;
      const { done, value } = chunk;
      if (done) {
        complete = true;
        break;
      }
      if (kept < head.byteLength) {
        const slice = value.subarray(0, head.byteLength - kept);
        head.set(slice, kept);
        kept += slice.byteLength;
      }
      read += Math.min(value.byteLength, maxBytes - read);
    }
  } finally {
    // Release the stream; errors from one that already failed say nothing new.
    if (reader && !complete) await reader.cancel().catch(() => {});
  }
  return { head: head.subarray(0, kept), read, complete };
}

/** The next chunk, or null when `stopAt` comes first or the read fails. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  stopAt: number,
): Promise<Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>> | null> {
  const left = stopAt - performance.now();
  if (left <= 0) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([reader.read(), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left)))]);
  } catch {
    return null; // the deadline's abort, or the receiver hung up: the 2xx stands
  } finally {
    clearTimeout(timer);
  }
}

function isTimeoutError(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}

type ErrorWithCode = Error & { code?: unknown; cause?: unknown };

function codeOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as ErrorWithCode;
  if (typeof e.code === "string" && e.code) return e.code;
  return e.cause instanceof Error ? codeOf(e.cause) : undefined;
}

// Bun names its fetch failures in its own words (ConnectionRefused, ConnectionClosed);
// store the errno-style codes operators know from every other tool.
const BUN_CODES: Record<string, string> = {
  ConnectionRefused: "ECONNREFUSED",
  ConnectionClosed: "ECONNRESET",
  DNSLookupFailed: "ENOTFOUND",
  DNSResolveFailed: "ENOTFOUND",
};

function networkErrorCode(err: unknown): string {
  const code = codeOf(err);
  if (code) return BUN_CODES[code] ?? code;
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(0, 200) || "unknown network error";
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED|HOSTNAME_MISMATCH|TLS)/;

/** The short code batch-status shows; null for a 2xx, which is no failure. */
export function failureCode(result: PostBatchResult): AttemptFailureCode | null {
  switch (result.kind) {
    case "response":
      if (result.status >= 200 && result.status <= 299) return null;
      return result.status >= 300 && result.status <= 399 ? `redirect_${result.status}` : `http_${result.status}`;
    case "timeout":
      return "timeout";
    case "network": {
      const e = result.error;
      if (e === "ECONNREFUSED") return "connection_refused";
      if (e === "ECONNRESET" || e === "EPIPE") return "connection_reset";
      if (e === "ENOTFOUND" || e === "EAI_AGAIN" || e === "EAI_NONAME") return "dns";
      if (TLS_CODE.test(e)) return "tls";
      return "network";
    }
  }
}

/** What the retry policy needs to know about an attempt. */
export function toRetryOutcome(result: PostBatchResult): RetryOutcome {
  switch (result.kind) {
    case "response":
      return { kind: "http", status: result.status, retryAfter: result.headers["retry-after"] ?? null };
    case "timeout":
      return { kind: "timeout" };
    case "network":
      return { kind: "network" };
  }
}
