// What the feedback end-to-end tests share (postfix-dsn.test.ts, postfix-verp.test.ts): two REAL
// Postfix instances on loopback (test/e2e/mta/postfix.ts: private instances, explicit transports,
// no DNS, nothing leaves 127.0.0.1), hookd in-process between them and a webhook receiver:
//
//   A "mx.hookd.test" (the sender's MTA; hookd tails its log, host label mx1, and lists it in
//     feedback.local_mtas) routes remote.test to B and the bounce domain bounces.test to
//     lmtp:inet:127.0.0.1:<hookd's LMTP port>.
//   B "mx2.remote.test" accepts any local part of remote.test at RCPT (local_recipient_maps is
//     empty), so local(8) fails only after the 250: B's bounce daemon sends a real RFC 3464 DSN
//     to the envelope sender, and B routes bounces.test back to A.
import { afterAll, beforeAll } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Event } from "../../../src/events/schema.ts";
import { eventually } from "../../helpers/eventually.ts";
import { startTestApp, type TestApp, type TestConfigOverrides } from "../../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../../helpers/receiver.ts";
import { startPostfix, type PostfixHarness } from "../mta/postfix.ts";
import { sqliteOf } from "../../../src/store/sqlite/driver.ts";

export const HOST = "mx1";
export const A_NAME = "mx.hookd.test";
export const BOUNCE_DOMAIN = "bounces.test";

export type FeedbackCounters = {
  received: Record<string, number>;
  matched: { verp: number; unsubscribe_token: number; message_id: number; queue_id: number; none: number };
  events: number;
  own_dsns: number;
  rejected_tokens: number;
  commit_failures: number;
};

export type FeedbackRig = {
  a: PostfixHarness;
  b: PostfixHarness;
  app: TestApp;
  rx: Receiver;
  /** Every event the receiver got, in arrival order. */
  events(): Event[];
  ofRcpt(type: string, rcpt: string): Event[];
  /** Stored events of `type` for `rcpt`: final once the MTA logged hookd's 250 (it comes after the commit). */
  stored(type: string, rcpt: string): number;
  /** The status page's feedback section. */
  feedback(): Promise<FeedbackCounters>;
  /** Once every stored event has reached the receiver. */
  drained(): Promise<void>;
  /** A's log line for a message to `rcpt` handed to hookd's LMTP and answered `reply` (e.g. "dsn: 1 event"). */
  lmtpDelivered(rcpt: string, reply: string, since: number, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
};

export type RigOptions = {
  /** Extra main.cf lines for A and for B. */
  a?: string[];
  b?: string[];
  /** hookd's config beyond the rig's (A's log as a source, the LMTP listener, local_mtas); `feedback` is merged. */
  hookd?: TestConfigOverrides;
};

/** `text` matched literally in a RegExp. */
export const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export const field = (e: Event, k: string) => (e as Record<string, unknown>)[k];

/** Sets transport_maps entries, replacing those of the same domains (texthash: read when a process starts, hence the reload). */
export async function route(h: PostfixHarness, lines: string[]) {
  const file = join(h.configDir, "transport");
  const domains = new Set(lines.map((l) => l.split(/\s+/)[0]));
  const kept = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !domains.has(l.split(/\s+/)[0]!));
  writeFileSync(file, `${[...kept, ...lines].join("\n")}\n`);
  await h.reload();
}

export async function startFeedbackRig(o: RigOptions = {}): Promise<FeedbackRig> {
  const started: { stop(): Promise<unknown> }[] = [];
  try {
    const a = await startPostfix({ mainCf: o.a ?? [] });
    started.push(a);
    const b = await startPostfix({
      mainCf: [
        "myhostname = mx2.remote.test",
        "mydestination = remote.test",
        // Accept any local part at RCPT: the failure comes after the 250, as an out-of-band bounce.
        "local_recipient_maps =",
        ...(o.b ?? []),
      ],
    });
    started.push(b);
    const rx = await startReceiver();
    started.push(rx);
    const app = await startTestApp({
      sources: [{ path: a.logPath, format: "postfix", start_at: "beginning", host: HOST, rotate_wait: 100 }],
      delivery: { batch_max_wait: 100 },
      ...o.hookd,
      feedback: { listen: "127.0.0.1:0", local_mtas: [A_NAME], ...o.hookd?.feedback },
    });
    started.push(app);
    const res = await app.api("POST", "/webhooks", {
      body: { name: "e2e-feedback", target: `${rx.url}/hook`, events: ["*"], verification: "none" },
    });
    if (res.status !== 201) throw new Error(`creating the webhook: ${res.status} ${await res.text()}`);
    // The harness's master.cf has no lmtp service; A needs one to reach hookd.
    appendFileSync(join(a.configDir, "master.cf"), "lmtp      unix  -       -       n       -       -       lmtp\n");
    const lmtpPort = app.hookd.feedback!.port!;
    await route(a, [`remote.test smtp:[127.0.0.1]:${b.smtpPort}`, `${BOUNCE_DOMAIN} lmtp:inet:127.0.0.1:${lmtpPort}`]);
    await route(b, [`${BOUNCE_DOMAIN} smtp:[127.0.0.1]:${a.smtpPort}`]);

    const events = () => rx.requests.flatMap((q) => q.json() as Event[]);
    const status = async () => ((await (await app.api("GET", "/status")).json()) as { results: Record<string, unknown> }).results;
    return {
      a,
      b,
      app,
      rx,
      events,
      ofRcpt: (type, rcpt) => events().filter((e) => e.type === type && field(e, "rcpt_to") === rcpt),
      stored: (type, rcpt) =>
        (
          sqliteOf(app.hookd.store).query("SELECT count(*) AS n FROM events WHERE type = ? AND rcpt_to = ?").get(type, rcpt) as {
            n: number;
          }
        ).n,
      feedback: async () => (await status()).feedback as FeedbackCounters,
      drained: () =>
        eventually(async () => {
          const hooks = (await status()).webhooks as { queue_depth: number }[];
          return hooks.every((w) => w.queue_depth === 0) || Promise.reject(new Error(`still queued: ${JSON.stringify(hooks)}`));
        }).then(() => undefined),
      lmtpDelivered: (rcpt, reply, since, timeoutMs = 30_000) =>
        a.waitForLog(
          new RegExp(
            `: to=<${literal(rcpt)}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${lmtpPort},.* status=sent \\(250 2\\.6\\.0 ${reply}\\)`,
          ),
          timeoutMs,
          since,
        ),
      async stop() {
        for (const s of started.reverse()) await s.stop();
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Starts the rig before a test file's tests (then `setup`, e.g. more MTA config) and stops it
 * after them; the function returned gives the started rig, or throws why it did not start.
 */
export function useFeedbackRig(options: () => RigOptions, setup?: (rig: FeedbackRig) => Promise<void>): () => FeedbackRig {
  let rig: FeedbackRig | null = null;
  let startError: unknown = null;
  beforeAll(async () => {
    try {
      rig = await startFeedbackRig(options());
      await setup?.(rig);
    } catch (err) {
      startError = err;
    }
  }, 90_000);
  afterAll(async () => {
    await rig?.stop();
  }, 60_000);
  return () => {
    if (startError) throw startError;
    if (!rig) throw new Error("the two Postfix instances and hookd did not start");
    return rig;
  };
}
