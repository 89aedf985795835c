// An open GET /events/stream outlives nothing it should: once its key is revoked (with the
// real `hookd apikey revoke`, another process on the same store), the stream ends with an
// error event and carries no event stored after the revocation.
import { storeEnv } from "../helpers/store-sql.ts";
import { expect, test } from "bun:test";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { runHookd, testResources, within } from "../helpers/hookd.ts";

const t = testResources();

/** Reads an SSE response, collecting `event:` names and data, until `until` holds or the stream ends. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { event: string; data: string }[],
  until: () => boolean,
  timeoutMs: number,
) {
  const decoder = new TextDecoder();
  let buf = "";
  const deadline = Date.now() + timeoutMs;
  while (!until()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`stream: condition not met within ${timeoutMs}ms; saw ${JSON.stringify(seen)}`);
    const part = await within(reader.read(), left, null);
    if (part === null) continue;
    if (part.done) return "ended" as const;
    buf += decoder.decode(part.value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (event) seen.push({ event, data: /^data: (.*)$/m.exec(block)?.[1] ?? "" });
    }
  }
  return "seen" as const;
}

test("a stream whose key is revoked ends with an unauthorized error event, and sends nothing stored after", async () => {
  const app = await t.app();
  const { key, info } = await app.hookd.store.keys.create("tail", ["events:read"], Date.now());
  const res = await fetch(`${app.url}/api/v1/events/stream`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  t.defer(() => reader.cancel().catch(() => {}));
  const seen: { event: string; data: string }[] = [];
  await readUntil(reader, seen, () => seen.some((s) => s.event === "ready"), 5000);

  expect((await app.api("POST", "/events", { body: [{ type: "open", event_id: "before-revoke", rcpt_to: "a@example.org" }] })).status).toBe(
    200,
  );
  await readUntil(reader, seen, () => seen.some((s) => s.data.includes("before-revoke")), 5000);

  const revoked = await runHookd(["apikey", "revoke", info.id], { env: storeEnv(app.config.storage) });
  expect(revoked.code).toBe(0);
  expect((await app.api("POST", "/events", { body: [{ type: "open", event_id: "after-revoke", rcpt_to: "a@example.org" }] })).status).toBe(
    200,
  );

  const outcome = await readUntil(reader, seen, () => false, 5000);
  expect(outcome).toBe("ended");
  const error = seen.find((s) => s.event === "error");
  expect(JSON.parse(error!.data)).toMatchObject({ errors: [{ code: "unauthorized", field: "Authorization" }] });
  expect(seen.some((s) => s.data.includes("after-revoke"))).toBe(false);
});
