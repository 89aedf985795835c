// A receiver that answers "200 OK" at once and then trickles its body a byte a second, far
// past delivery.timeout. Momentum's document tells receivers to answer first and work
// after, so the status line is the answer: the batch is delivered on the first attempt and
// never sent again. A raw TCP server (Bun.listen) writes exactly those bytes.
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { batchStatus, createWebhook, eventuallyValue, postEvents, startDeliveryApp } from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

type RawRequest = { head: string; body: string };

/** Collects each request (Content-Length bodies) and answers 200 + a body of `bodyBytes`, one byte a second. */
function trickleReceiver(bodyBytes = 120) {
  const requests: RawRequest[] = [];
  const timers = new Set<ReturnType<typeof setInterval>>();
  const buffers = new Map<Socket<undefined>, string>();
  let connections = 0;
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        connections++;
        buffers.set(sock, "");
      },
      data(sock, data) {
        const text = (buffers.get(sock) ?? "") + new TextDecoder().decode(data);
        buffers.set(sock, text);
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (text.length < end + 4 + length) return;
        requests.push({ head: text.slice(0, end), body: text.slice(end + 4, end + 4 + length) });
        buffers.set(sock, text.slice(end + 4 + length));
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
        let sent = 0;
        const timer = setInterval(() => {
          if (++sent > bodyBytes) return clearInterval(timer);
          sock.write(".");
        }, 1000);
        timers.add(timer);
      },
      close(sock) {
        buffers.delete(sock);
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    connections: () => connections,
    stop() {
      for (const timer of timers) clearInterval(timer);
      server.stop(true);
    },
  };
}

describe("a 2xx status line ends the batch", () => {
  test("the receiver answers 200 at once and trickles its body past the timeout: delivered on the first attempt, sent once", async () => {
    const rx = t.track(trickleReceiver());
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50, timeout: 1500 } } }));
    const hook = await createWebhook(app, `${rx.url}/momentum`);
    const started = Date.now();
    await postEvents(app, [{ type: "delivery", event_id: "trickled-1", rcpt_to: "ada@example.org" }]);

    const [batch] = await eventuallyValue(async () => {
      const list = await batchStatus(app, hook.id);
      return list.length === 1 && list[0]!.state !== "pending" ? list : null;
    });
    expect(batch).toMatchObject({ state: "delivered", attempts: 1, response_code: "200", failure_code: null });
    // Far sooner than the 120 s the body takes, and not held to the 1.5 s timeout either.
    expect(Date.now() - started).toBeLessThan(5000);
    // Delivered is final: no attempt follows it. The receiver saw the batch once.
    const carrying = rx.requests.filter((r) => r.body.includes("trickled-1"));
    expect(carrying).toHaveLength(1);
    expect(carrying[0]!.head).toStartWith("POST /momentum HTTP/1.1");
  });
});
