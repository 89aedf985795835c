// The milter inside hookd (in-process, the real composition root): [milter] listen on a unix
// socket, the handler on its own thread, an MTA side that speaks the protocol byte for byte as
// Postfix does (wire.ts), and the tracking listener recording the hits. What comes back are the
// end-of-message actions Postfix would carry out; the events and /metrics show the rest.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import path from "node:path";
import { startTestApp, tempDir, type TestApp } from "../helpers/hookd.ts";
import { eventually } from "../helpers/eventually.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";
import { connectMta, type MtaClient } from "./mta-client.ts";
import { POSTFIX_ACTIONS, POSTFIX_PROTOCOL, optneg, postfixMessage, strings, type Packet } from "./wire.ts";

const BASE = "https://t.example.com";
const dir = tempDir();
const socket = path.join(dir, "milter.sock");
let app: TestApp;
let rx: Receiver;
let listener: string;

beforeAll(async () => {
  rx = await startReceiver();
  app = await startTestApp({
    tracking: { listen: "127.0.0.1:0", base_url: BASE, fast_click: 0, rate_limit: 0 },
    milter: { listen: `unix:${socket}`, track: "header", max_message_size: 200_000, timeout: 5_000 },
    delivery: { batch_max_wait: 0 },
  });
  const res = await app.api("POST", "/webhooks", { body: { name: "all", target: `${rx.url}/hook`, events: ["*"], verification: "none" } });
  expect(res.status).toBe(201);
  const status = (await (await app.api("GET", "/status")).json()) as { results: { tracking: { address: string } } };
  listener = status.results.tracking.address;
}, 30_000);

afterAll(async () => {
  await app?.stop();
  await rx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function negotiated(): Promise<MtaClient> {
  const mta = await connectMta({ path: socket });
  mta.send(optneg(6, POSTFIX_ACTIONS, POSTFIX_PROTOCOL));
  expect((await mta.next()).code).toBe("O");
  return mta;
}

/** The end-of-message answer: every action up to and including the final accept/continue. */
async function answer(mta: MtaClient): Promise<Packet[]> {
  const out: Packet[] = [];
  for (;;) {
    const p = await mta.next(10_000);
    out.push(p);
    if (p.code === "a" || p.code === "c") return out;
  }
}

const HEADERS = (extra: [string, string][] = []): [string, string][] => [
  ["From", " App <app@sender.example>"],
  ["To", " alice@example.org"],
  ["Message-ID", " <hm1@sender.example>"],
  ...extra,
  ["MIME-Version", " 1.0"],
  ["Content-Type", " text/html; charset=utf-8"],
];
const HTML = '<html><body><a href="https://shop.example/sale">Sale</a></body></html>\r\n';

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("hookd's milter", () => {
  test("a marked message: the control header deleted, List-Unsubscribe added, the body replaced; its pixel gives an open naming Postfix's queue id", async () => {
    const mta = await negotiated();
    mta.send(
      postfixMessage({
        queueId: "4QM1ABC",
        from: "app@sender.example",
        rcpts: ["alice@example.org"],
        headers: HEADERS([
          ["X-Hookd-Track", " opens, clicks, unsubscribe"],
          ["X-Hookd-Campaign", " spring"],
        ]),
        bodyChunks: [HTML],
      }),
    );
    const packets = await answer(mta);
    mta.end();
    expect(packets.map((p) => p.code)).toEqual(["m", "m", "h", "h", "b", "c"]);
    // SMFIR_CHGHEADER with an empty value deletes: index, name, "".
    expect(packets.slice(0, 2).map((p) => [p.data.readUInt32BE(0), ...strings(p.data.subarray(4))])).toEqual([
      [1, "X-Hookd-Track", ""],
      [1, "X-Hookd-Campaign", ""],
    ]);
    expect(strings(packets[2]!.data)[0]).toBe("List-Unsubscribe");
    expect(strings(packets[3]!.data)).toEqual(["List-Unsubscribe-Post", " List-Unsubscribe=One-Click"]);
    const body = packets[4]!.data.toString();
    const pixel = /<img src="([^"]+)"/.exec(body)![1]!;
    expect(body).toContain(`<a href="${BASE}/c/`);

    expect((await fetch(listener + pixel.slice(BASE.length))).status).toBe(200);
    await eventually(() => rx.requests.some((r) => (r.json() as { type: string }[]).some((e) => e.type === "open")), { timeoutMs: 10_000 });
    const open = rx.requests.flatMap((r) => r.json() as Record<string, unknown>[]).find((e) => e.type === "open")!;
    expect(open).toMatchObject({
      queue_id: "4QM1ABC",
      message_id: "hm1@sender.example",
      rcpt_to: "alice@example.org",
      campaign_id: "spring",
    });
    await eventually(async () => (await metric("hookd_milter_messages_total", 'outcome="tracked",reason="rewritten"')) === 1, {
      timeoutMs: 5_000,
    });
  }, 30_000);

  test("an unmarked message is accepted as it is; over max_message_size too — each counted by why", async () => {
    const mta = await negotiated();
    mta.send(
      postfixMessage({ queueId: "4QM2", from: "a@sender.example", rcpts: ["b@example.org"], headers: HEADERS(), bodyChunks: [HTML] }),
    );
    expect((await answer(mta)).map((p) => p.code)).toEqual(["a"]);
    const big = "x".repeat(998) + "\r\n";
    mta.send(
      postfixMessage({
        queueId: "4QM3",
        from: "a@sender.example",
        rcpts: ["b@example.org"],
        headers: HEADERS([["X-Hookd-Track", " all"]]),
        bodyChunks: Array(250).fill(big),
      }),
    );
    expect((await answer(mta)).map((p) => p.code)).toEqual(["a"]);
    mta.end();
    await eventually(async () => (await metric("hookd_milter_messages_total", 'outcome="unchanged",reason="too_large"')) === 1, {
      timeoutMs: 5_000,
    });
    expect(await metric("hookd_milter_messages_total", 'outcome="untracked",reason="not_marked"')).toBe(1);
    expect((await (await fetch(`${app.url}/metrics`)).text()).split("\n")).toContain("hookd_milter_up 1");
  }, 30_000);
});
