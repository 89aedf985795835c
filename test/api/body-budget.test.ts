// Request bodies held at once are bounded: one server.max_body_size in flight, three more
// waiting their turn; past that a request is answered 503 server_busy with Retry-After at
// once, and once the holders go away the budget is free again.
import { expect, test } from "bun:test";
import net from "node:net";
import { eventuallyValue } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

test("6 stalled 90 KB uploads with max_body_size 100 KB: 2 are refused 503 server_busy + Retry-After at once; after the others leave, a POST is stored", async () => {
  const app = await t.app({ server: { max_body_size: 100_000 } });
  const port = Number(new URL(app.url).port);
  const uploads = Array.from({ length: 6 }, () => {
    const u = { got: "", socket: net.connect(port, "127.0.0.1") };
    u.socket.on("data", (d) => (u.got += d.toString()));
    u.socket.on("error", () => {});
    u.socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: hookd\r\nAuthorization: Bearer ${app.key}\r\nContent-Type: application/json\r\nContent-Length: 90000\r\n\r\n[` +
        " ".repeat(1000),
    );
    return u;
  });
  t.defer(() => uploads.forEach((u) => u.socket.destroy()));

  const refused = await eventuallyValue(
    () => {
      const r = uploads.filter((u) => u.got.includes("}]}"));
      return r.length === 2 ? r : null;
    },
    { timeoutMs: 5000 },
  );
  for (const u of refused) {
    expect(u.got).toStartWith("HTTP/1.1 503");
    expect(u.got.toLowerCase()).toContain("retry-after: 1");
    expect(u.got).toContain('"code":"server_busy"');
  }

  for (const u of uploads) u.socket.destroy();
  await eventually(async () => (await app.api("POST", "/events", { body: [{ type: "open", rcpt_to: "a@example.org" }] })).status === 200, {
    timeoutMs: 5000,
    intervalMs: 100,
  });
});
