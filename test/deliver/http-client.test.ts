import { afterEach, describe, expect, test } from "bun:test";
import { encodeBatch } from "../../src/deliver/formats/hookd.ts";
import { AFTER_2XX, failureCode, postBatch, toRetryOutcome, type PostBatchResult } from "../../src/deliver/http-client.ts";
import type { Socket } from "bun";
import { eventually } from "../helpers/eventually.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";

let r: Receiver | null = null;
afterEach(async () => {
  await r?.stop();
  r = null;
});

const body = new TextEncoder().encode('[{"event_id":"e1","type":"delivery"}]');
const send = (url: string, extra: { timeoutMs?: number; maxResponseBytes?: number } = {}) =>
  postBatch({
    url,
    body,
    headers: { "content-type": "application/json", "webhook-id": "msg_1" },
    timeoutMs: extra.timeoutMs ?? 2000,
    ...(extra.maxResponseBytes ? { maxResponseBytes: extra.maxResponseBytes } : {}),
  });

function asResponse(result: PostBatchResult) {
  if (result.kind !== "response") throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

describe("postBatch", () => {
  test("200: POSTs body and headers, returns status, lowercased headers, snippet, latency", async () => {
    r = await startReceiver();
    r.respondWith({ status: 200, headers: { "X-Request-Id": "abc" }, body: "ok thanks" });
    const res = asResponse(await send(`${r.url}/in`));
    expect(res.status).toBe(200);
    expect(res.headers["x-request-id"]).toBe("abc");
    expect(res.bodySnippet).toBe("ok thanks");
    expect(res.latencyMs).toBeGreaterThanOrEqual(0);
    expect(failureCode(res)).toBeNull();

    const got = r.requests[0]!;
    expect([got.method, got.path, got.body]).toEqual(["POST", "/in", new TextDecoder().decode(body)]);
    expect(got.headers["webhook-id"]).toBe("msg_1");
    expect(got.headers["content-type"]).toBe("application/json");
  });

  test("a Blob body (one shared by many requests) goes out byte for byte, with its length, every time", async () => {
    r = await startReceiver();
    // Multi-byte UTF-8 so a length in characters would differ from the length in bytes.
    const bytes = new TextEncoder().encode(
      JSON.stringify([{ event_id: "e1", rcpt_to: "zoë@example.com", response: "250 ✓ ".repeat(2000) }]),
    );
    const blob = new Blob([bytes]);
    const results = await Promise.all(
      [1, 2, 3].map((i) =>
        postBatch({ url: `${r!.url}/b${i}`, body: blob, headers: { "content-type": "application/json" }, timeoutMs: 2000 }),
      ),
    );
    expect(results.map((x) => x.kind)).toEqual(["response", "response", "response"]);
    expect(r.requests.map((q) => q.path).sort()).toEqual(["/b1", "/b2", "/b3"]);
    for (const q of r.requests) {
      expect(q.body).toBe(new TextDecoder().decode(bytes));
      expect(q.headers["content-length"]).toBe(String(bytes.byteLength));
      expect(q.headers["content-type"]).toBe("application/json");
    }
  });

  test("500 is a response with failure code http_500 and a retry outcome", async () => {
    r = await startReceiver();
    r.respondWith({ status: 500, body: "database on fire" });
    const res = asResponse(await send(r.url));
    expect(res.status).toBe(500);
    expect(res.bodySnippet).toBe("database on fire");
    expect(failureCode(res)).toBe("http_500");
    expect(toRetryOutcome(res)).toEqual({ kind: "http", status: 500, retryAfter: null });
  });

  test("429 carries Retry-After through to the retry outcome", async () => {
    r = await startReceiver();
    r.respondWith({ status: 429, headers: { "Retry-After": "17" } });
    const res = await send(r.url);
    expect(failureCode(res)).toBe("http_429");
    expect(toRetryOutcome(res)).toEqual({ kind: "http", status: 429, retryAfter: "17" });
  });

  test("302 is not followed: one request, reported as redirect_302", async () => {
    r = await startReceiver();
    r.respondWith((req) => (req.path === "/elsewhere" ? { status: 200 } : { status: 302, headers: { location: "/elsewhere" } }));
    const res = asResponse(await send(`${r.url}/hook`));
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe("/elsewhere");
    expect(failureCode(res)).toBe("redirect_302");
    // fetch resolves only after the last hop: a followed redirect would be recorded by now.
    expect(r.requests.map((q) => q.path)).toEqual(["/hook"]);
  });

  test("a receiver that never answers times out within timeout + margin", async () => {
    r = await startReceiver();
    r.hang();
    const t = performance.now();
    const res = await send(r.url, { timeoutMs: 300 });
    const took = performance.now() - t;
    expect(res.kind).toBe("timeout");
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1300);
    expect(failureCode(res)).toBe("timeout");
    expect(toRetryOutcome(res)).toEqual({ kind: "timeout" });
  });

  test("the deadline also covers a non-2xx body that starts and never finishes", async () => {
    r = await startReceiver();
    r.respondWith(
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode("partial"));
            },
          }),
          { status: 500 },
        ),
    );
    const t = performance.now();
    const res = await send(r.url, { timeoutMs: 300 });
    expect(res.kind).toBe("timeout");
    expect(performance.now() - t).toBeLessThan(1300);
  });

  test("a 2xx whose body never finishes is delivered when the deadline comes first, with what was read", async () => {
    r = await startReceiver();
    r.respondWith(
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode("accepted"));
            },
          }),
          { status: 202 },
        ),
    );
    const t = performance.now();
    const res = asResponse(await send(r.url, { timeoutMs: 300 }));
    expect(performance.now() - t).toBeLessThan(1300);
    expect(res.status).toBe(202);
    expect(res.bodySnippet).toBe("accepted");
    expect(failureCode(res)).toBeNull();
  });

  test("a 2xx status line ends the request: a body trickled a byte a second is read for about a second, then the connection is closed", async () => {
    // Raw TCP: the status line and headers at once, then one byte per second of a 100-byte body.
    let closed = false;
    const timers = new Set<ReturnType<typeof setInterval>>();
    const raw = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock) {
          if (timers.size) return;
          sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n");
          timers.add(setInterval(() => sock.write("x"), 1000));
        },
        close() {
          closed = true;
          for (const t of timers) clearInterval(t);
        },
      },
    });
    try {
      const t = performance.now();
      const res = asResponse(await send(`http://127.0.0.1:${raw.port}/`, { timeoutMs: 10_000 }));
      const took = performance.now() - t;
      expect(res.status).toBe(200);
      expect(failureCode(res)).toBeNull();
      expect(took).toBeGreaterThanOrEqual(AFTER_2XX.maxMs - 50);
      expect(took).toBeLessThan(AFTER_2XX.maxMs + 1500);
      expect(res.bodySnippet).toMatch(/^x{0,2}$/);
      await eventually(() => closed, { timeoutMs: 2000 });
    } finally {
      for (const t of timers) clearInterval(t);
      raw.stop(true);
    }
  });

  test("after a 2xx at most AFTER_2XX.maxBytes of the body are read; wholeBody reads it all (a token endpoint)", async () => {
    r = await startReceiver();
    r.respondWith({ status: 200, body: "b".repeat(200_000) });
    const res = asResponse(await send(r.url));
    expect(res.bodyBytesRead).toBe(AFTER_2XX.maxBytes);
    expect(res.bodySnippet).toBe("b".repeat(AFTER_2XX.maxBytes));
    const whole = asResponse(
      await postBatch({ url: r.url, body, headers: {}, timeoutMs: 2000, wholeBody: true, keepResponseBytes: 64 * 1024 }),
    );
    expect(whole.bodyBytesRead).toBe(64 * 1024);
    expect(whole.bodySnippet.length).toBe(64 * 1024);
  });

  test("connection refused on a port that was just closed", async () => {
    r = await startReceiver();
    const url = r.url;
    await r.close();
    const res = await send(url);
    expect(res).toMatchObject({ kind: "network", error: "ECONNREFUSED" });
    expect(failureCode(res)).toBe("connection_refused");
    expect(toRetryOutcome(res)).toEqual({ kind: "network" });
  });

  test("a huge response body is read only up to maxResponseBytes, then the connection is closed", async () => {
    // A raw TCP receiver, because Bun.serve buffers a streamed body without backpressure
    // and never tells the stream the client left; here we see the socket close.
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let written = 0;
    let closed = false;
    let answered = false;
    const pump = (sock: Socket<undefined>) => {
      // 1 GiB promised; bounded by the size and by the socket refusing more.
      while (!closed && written < 1024 ** 3) {
        const n = sock.write(chunk);
        written += Math.max(0, n);
        if (n < chunk.byteLength) return;
      }
    };
    const raw = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock) {
          if (answered) return;
          answered = true;
          sock.write(`HTTP/1.1 500 Internal Server Error\r\nContent-Length: ${1024 ** 3}\r\n\r\n`);
          pump(sock);
        },
        drain: pump,
        close() {
          closed = true;
        },
      },
    });
    try {
      const res = asResponse(await send(`http://127.0.0.1:${raw.port}/`, { maxResponseBytes: 100_000 }));
      expect(res.status).toBe(500);
      expect(res.bodyBytesRead).toBe(100_000);
      expect(res.bodySnippet).toBe("a".repeat(1024));
      await eventually(() => closed, { timeoutMs: 2000 });
      expect(written).toBeLessThan(256 * 1024 ** 2);
    } finally {
      raw.stop(true);
    }
  });

  test("a body smaller than the cap is read to the end", async () => {
    r = await startReceiver();
    r.respondWith({ status: 400, body: "é".repeat(600) });
    const res = asResponse(await send(r.url));
    expect(res.bodyBytesRead).toBe(1200);
    // The snippet is the first 1 KiB of bytes decoded as UTF-8: 512 two-byte characters.
    expect(res.bodySnippet).toBe("é".repeat(512));
  });

  test("the default cap is 64 KiB", async () => {
    r = await startReceiver();
    r.respondWith({ status: 503, body: "b".repeat(200_000) });
    const res = asResponse(await send(r.url));
    expect(res.bodyBytesRead).toBe(64 * 1024);
  });
});

describe("failureCode", () => {
  const network = (error: string): PostBatchResult => ({ kind: "network", error, latencyMs: 1 });
  const response = (status: number): PostBatchResult => ({
    kind: "response",
    status,
    headers: {},
    bodySnippet: "",
    bodyBytesRead: 0,
    latencyMs: 1,
  });

  test("statuses", () => {
    expect([200, 204, 299].map((s) => failureCode(response(s)))).toEqual([null, null, null]);
    expect([301, 307, 400, 410, 503].map((s) => failureCode(response(s)))).toEqual([
      "redirect_301",
      "redirect_307",
      "http_400",
      "http_410",
      "http_503",
    ]);
  });

  test("network errors", () => {
    expect(failureCode(network("ECONNREFUSED"))).toBe("connection_refused");
    expect(failureCode(network("ECONNRESET"))).toBe("connection_reset");
    expect(failureCode(network("ENOTFOUND"))).toBe("dns");
    expect(failureCode(network("EAI_AGAIN"))).toBe("dns");
    expect(failureCode(network("DEPTH_ZERO_SELF_SIGNED_CERT"))).toBe("tls");
    expect(failureCode(network("ERR_TLS_CERT_ALTNAME_INVALID"))).toBe("tls");
    expect(failureCode(network("something odd happened"))).toBe("network");
  });
});

// The hookd body format lives here because the brief allotted no file of its own to it
// (test/deliver/formats/hookd.test.ts would be its natural home).
describe("hookd body format", () => {
  const events = [
    { event_id: "01A", type: "delivery", rcpt_to: "zoë@exämple.com", response: '250 2.0.0 "ok"\n', size: 1234 },
    { event_id: "01B", type: "bounce", nested: { a: [1, null, true] } },
  ];
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

  test("encodeBatch joins stored JSON texts into exactly JSON.stringify of the array", () => {
    const stored = events.map((e) => JSON.stringify(e));
    const bytes = encodeBatch(stored);
    expect(decode(bytes)).toBe(JSON.stringify(events));
    expect(JSON.parse(decode(bytes))).toEqual(events);
    expect(bytes.byteLength).toBe(Buffer.byteLength(JSON.stringify(events)));
  });

  test("keeps each stored text verbatim (no re-serialization)", () => {
    const stored = ['{"b":1, "a":2}', '{"x":"y"}'];
    expect(decode(encodeBatch(stored))).toBe('[{"b":1, "a":2},{"x":"y"}]');
  });

  test("empty batch", () => {
    expect(decode(encodeBatch([]))).toBe("[]");
  });

  test("what the receiver gets parses back to the events", async () => {
    r = await startReceiver();
    const res = await postBatch({
      url: r.url,
      body: encodeBatch(events.map((e) => JSON.stringify(e))),
      headers: { "content-type": "application/json" },
      timeoutMs: 2000,
    });
    expect(res.kind).toBe("response");
    expect(r.requests[0]!.json()).toEqual(events);
  });
});
