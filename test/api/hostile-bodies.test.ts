// Bodies built to hurt: JSON nested tens of thousands of levels (JSON.parse throws a
// RangeError on it, which used to be a 500), and malformed chunked framing sent without a
// key (each used to write an "unhandled error" log line) or with one (now one warning per
// client, however many).
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import path from "node:path";
import { MAX_JSON_DEPTH } from "../../src/api/json-scan.ts";
import { eventuallyValue } from "../helpers/delivery.ts";
import { errorBody, spawnHookd, tempDir, testResources, within, type SpawnedHookd } from "../helpers/hookd.ts";

const t = testResources();
const procs: SpawnedHookd[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.stop(5000);
});

/** `{"x":{"x":…{"x":1}…}}`, `levels` objects deep. */
const nested = (levels: number) => `${'{"x":'.repeat(levels - 1)}{"x":1}${"}".repeat(levels - 1)}`;
const eventWithData = (levels: number) => `[{"type":"custom","custom_type":"deep","rcpt_to":"a@example.org","data":${nested(levels)}}]`;

test("event data nested 40,000 levels: 400 invalid_value naming the field; just under the cap is stored", async () => {
  const app = await t.app();
  const res = await app.api("POST", "/events", { rawBody: eventWithData(40_000) });
  expect(res.status).toBe(400);
  const { errors } = await errorBody(res);
  expect(errors).toEqual([
    { message: `[0].data.x.x: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, field: "[0].data.x.x", code: "invalid_value" },
  ]);

  // The array and the event are two levels: data may nest MAX_JSON_DEPTH - 2 deep.
  expect((await app.api("POST", "/events", { rawBody: eventWithData(MAX_JSON_DEPTH - 2) })).status).toBe(200);
  expect((await app.api("POST", "/events", { rawBody: eventWithData(MAX_JSON_DEPTH - 1) })).status).toBe(400);
});

test("deep nesting in any JSON body (a webhook's filter, validate's message): 400, never 500", async () => {
  const app = await t.app();
  const hook = await app.api("POST", "/webhooks", {
    rawBody: `{"name":"d","target":"http://127.0.0.1:9/","events":["*"],"filter":${nested(40_000)}}`,
  });
  expect(hook.status).toBe(400);
  expect((await errorBody(hook)).errors[0]).toMatchObject({ field: "filter.x.x.x", code: "invalid_value" });
});

/** Sends raw bytes on a new connection; resolves with everything received until the server closes or 2 s pass. */
async function rawRequest(port: number, bytes: string): Promise<string> {
  let got = "";
  const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
  s.on("data", (d) => (got += d.toString()));
  const ended = new Promise<void>((resolve) => {
    s.on("close", resolve);
    s.on("error", resolve);
  });
  await within(ended, 2000, null);
  s.destroy();
  return got;
}

const badChunks = (auth: string) =>
  `POST /api/v1/events HTTP/1.1\r\nHost: hookd\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n`;

test("malformed chunked bodies: without a key, our 401 envelope and no log line; with one, one warning per client for 5 of them, never 'unhandled error'", async () => {
  const dir = tempDir();
  const h = await spawnHookd({ cwd: dir, env: { HOOKD_STORAGE_PATH: path.join(dir, "hookd.db") } });
  procs.push(h);
  const key = await eventuallyValue(() => /hookd_[A-Za-z0-9_-]{30,}/.exec(h.stderr())?.[0], { timeoutMs: 5000 });
  const port = Number(new URL(h.url).port);

  for (let i = 0; i < 5; i++) {
    const answer = await rawRequest(port, badChunks(""));
    expect(answer).toStartWith("HTTP/1.1 401");
    expect(answer).toContain('{"errors":[{"message":"missing API key');
  }
  for (let i = 0; i < 5; i++) await rawRequest(port, badChunks(`Authorization: Bearer ${key}\r\n`));
  // A request after them, answered: their handling (and logging) is done.
  expect((await fetch(`${h.url}/healthz`)).status).toBe(200);

  const lines = h.stdoutLines.map((l) => JSON.parse(l) as { level: string; msg: string; client?: string });
  expect(lines.filter((l) => l.msg === "unhandled error")).toEqual([]);
  const warned = lines.filter((l) => l.msg.includes("request body ended early or was malformed"));
  expect(warned.map((l) => [l.level, l.client])).toEqual([["warn", "127.0.0.1"]]);
});
