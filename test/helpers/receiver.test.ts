import { afterEach, describe, expect, test } from "bun:test";
import { eventually } from "./eventually.ts";
import { startReceiver, type Receiver } from "./receiver.ts";

let r: Receiver | null = null;
afterEach(async () => {
  await r?.stop();
  r = null;
});

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("startReceiver", () => {
  test("listens on 127.0.0.1, answers 200 and records method, path, lowercased headers, body", async () => {
    r = await startReceiver();
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const before = Date.now();
    const res = await post(`${r.url}/hook`, '[{"a":1}]', { "X-Custom-Header": "Yes" });
    expect(res.status).toBe(200);
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/hook");
    expect(req.headers["x-custom-header"]).toBe("Yes");
    expect(req.body).toBe('[{"a":1}]');
    expect(req.json()).toEqual([{ a: 1 }]);
    expect(req.receivedAt).toBeGreaterThanOrEqual(before);
  });

  test("respondWith a spec, a queue then 200s, or a function of the request count", async () => {
    r = await startReceiver();
    r.respondWith({ status: 418, headers: { "x-reason": "teapot" }, body: "no" });
    const first = await post(r.url, "1");
    expect([first.status, first.headers.get("x-reason"), await first.text()]).toEqual([418, "teapot", "no"]);

    r.respondWith([{ status: 500 }, { status: 503 }]);
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push((await post(r.url, "q")).status);
    expect(queued).toEqual([500, 503, 200]);

    r.respondWith((req, n) => ({ status: n % 2 === 0 ? 202 : 400, body: `${n}:${req.body}` }));
    const fifth = await post(r.url, "echo");
    expect([fifth.status, await fifth.text()]).toEqual([400, "5:echo"]);
    const sixth = await post(r.url, "again");
    expect([sixth.status, await sixth.text()]).toEqual([202, "6:again"]);
  });

  test("delayMs delays the answer", async () => {
    r = await startReceiver();
    r.respondWith({ status: 200, delayMs: 150 });
    const t = performance.now();
    await post(r.url, "x");
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });

  test("hang never answers until the receiver stops", async () => {
    r = await startReceiver();
    r.hang();
    const pending = post(r.url, "x").then(
      () => "answered",
      () => "failed",
    );
    let settled = false;
    void pending.then(() => (settled = true));
    await r.waitFor((rs) => rs.length === 1, 2000);
    // A later request, answered in full, while the hung one still waits.
    r.respondWith({ status: 204 });
    expect((await post(r.url, "later")).status).toBe(204);
    expect(settled).toBe(false);
    await r.stop();
    r = null;
    expect(await pending).toBe("failed");
  });

  test("waitFor resolves on the request that satisfies it and rejects after its timeout", async () => {
    r = await startReceiver();
    const waiting = r.waitFor((rs) => rs.some((q) => q.body === "two"), 2000);
    await post(r.url, "one");
    await post(r.url, "two");
    expect((await waiting).map((q) => q.body)).toEqual(["one", "two"]);
    const t = performance.now();
    await expect(r.waitFor((rs) => rs.length > 5, 100)).rejects.toThrow(/within 100ms \(2 requests\)/);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  test("close refuses connections; restart listens on the same port and keeps the log", async () => {
    r = await startReceiver();
    const url = r.url;
    // Without "connection: close" the client may reuse the pooled socket the server just
    // dropped and see ECONNRESET instead: true to life, but not what this test is about.
    await post(url, "before", { connection: "close" });
    await r.close();
    const down = await post(url, "down").then(
      () => null,
      (err: Error & { code?: string }) => err.code,
    );
    expect(down).toBe("ConnectionRefused");
    await r.restart();
    expect(r.url).toBe(url);
    expect((await post(url, "after")).status).toBe(200);
    expect(r.requests.map((q) => q.body)).toEqual(["before", "after"]);
  });
});

describe("eventually", () => {
  test("returns the first truthy value, retrying through throws", async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        if (calls < 3) throw new Error("not yet");
        return calls === 3 ? null : calls;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe(4);
  });

  test("fails after timeoutMs with the last error", async () => {
    const t = performance.now();
    await expect(
      eventually(
        () => {
          throw new Error("boom");
        },
        { timeoutMs: 100, intervalMs: 10 },
      ),
    ).rejects.toThrow(/not within 100ms: boom/);
    expect(performance.now() - t).toBeLessThan(1000);
    await expect(eventually(() => false, { timeoutMs: 50 })).rejects.toThrow(/stayed falsy/);
  });
});
