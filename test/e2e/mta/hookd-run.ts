// hookd against a real MTA, one suite for both (hookd-postfix.test.ts, hookd-exim.test.ts):
// the harness's log file is a hookd [[sources]] entry, a real receiver subscribes to every
// event, each scenario of scenarios.ts is sent through the MTA, and the events the receiver
// got are compared with what the scenario expects — exactly: each expected event once (a
// delay once per deferred attempt in the log), nothing else for the scenario's recipients,
// message or queue ids. A failure lists every missing and unexpected event, with the closest
// event hookd did send, so it reads as a parser bug report. The notices the MTA sends back to
// the sender are events of their own, tied to the scenario's message by `notice`; on Postfix
// the totals agree with pflogsumm's on the same log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { EventInput, type Event } from "../../../src/events/schema.ts";
import { runHookd, startTestApp, type TestApp } from "../../helpers/hookd.ts";
import { eventually } from "../../helpers/eventually.ts";
import { startReceiver, type Receiver } from "../../helpers/receiver.ts";
import { eximstatsTotals, hookdEximTotals, hookdTotals, parseSummaryCounts, PFLOGSUMM, runPflogsumm } from "../../../bench/log-totals.ts";
import { EXIM_ROOT } from "./exim.ts";
import { requireFiles, run, type MtaHarness } from "./common.ts";
import { SCENARIOS, SENDER, runScenario, type ExpectedEvent, type MtaKind, type Scenario, type ScenarioRun } from "./scenarios.ts";

const HOST = "mx1";
const SETTLE_MS = 15_000;

/**
 * Where hookd's events are meant to differ from scenarios.ts's `expect` (kept as it is: it
 * also documents the log lines).
 *
 * Postfix alias: local(8)'s "to=<alias@local.test>, relay=local, ... status=sent (forwarded as
 * NEWQID)" is the alias expansion handing the message to a new queue file, not a delivery.
 * Like a content filter's hand-off (correlate.ts), the story continues under NEWQID: one
 * injection for the address the mail was sent to, one delivery for where it went (orig_rcpt
 * = the alias), the same two events Exim's log gives. A "delivery" for the hand-off would be
 * a second delivery of one recipient (and contradict a later bounce of the real one).
 */
export const HOOKD_EXPECT_OVERRIDES: Partial<Record<MtaKind, Record<string, ExpectedEvent[]>>> = {
  postfix: {
    alias: [
      { type: "injection", rcpt_to: "alias@local.test" },
      { type: "delivery", rcpt_to: "ok-alias@sink.test", orig_rcpt: "alias@local.test", dsn: "2.0.0", relay: "sink" },
    ],
  },
};

/**
 * `bounce_class` in scenarios.ts is the coarse kind (SPEC: hard/soft/block/…); hookd's
 * classifier names the reason where the line gives it, which refines the kind.
 */
const CLASS_FAMILY: Record<string, readonly string[]> = {
  hard: ["hard", "unknown_user", "unknown_domain"],
  block: ["block", "policy"],
  soft: ["soft", "network", "quota"],
};

function bounceClasses(e: ExpectedEvent): readonly string[] | undefined {
  // "550 5.1.1 <x>: user unknown" and local(8)'s 5.1.1 "unknown user" say exactly why.
  if (e.bounce_class === "hard" && e.dsn === "5.1.1") return ["unknown_user"];
  if (e.bounce_class) return CLASS_FAMILY[e.bounce_class];
  if (e.type === "delay" && e.rcpt_to.endsWith("@refused.test")) return ["network"];
  if (e.type === "delay" && e.dsn === "4.2.0") return ["soft"];
  return undefined;
}

/** What one received event must look like; `undefined` fields are not checked. */
export type HookdExpectation = {
  type: string;
  rcpt_to: string;
  /** undefined: the event must carry none. */
  orig_rcpt?: string;
  dsn?: string;
  /** Accepted values; null: the event must carry none. */
  relay?: readonly string[] | null;
  bounce_class?: readonly string[];
  message_id?: string;
  mail_from: string;
  queue_id?: readonly string[];
  /** The notice the event must carry; undefined: it must carry none. */
  notice?: { kind: "bounce" | "delay" | "success"; of_queue_id: string; of_message_id: string };
  /** Delays: how many must arrive (one per deferred attempt the log shows). */
  count: number;
};

/** Deferred delivery attempts the log shows for rcpt (Exim's "retry time not reached" is none). */
export function deferredAttempts(h: MtaHarness, rcpt: string): number {
  const needle = h.kind === "postfix" ? `: to=<${rcpt}>, ` : ` == ${rcpt} `;
  return h.log
    .lines()
    .filter((l) => l.includes(needle) && (h.kind === "exim" || l.includes("status=deferred")))
    .filter((l) => !/retry time not (?:yet )?reached|explicitly queued/i.test(l)).length;
}

const bare = (id: string) => id.replace(/^<|>$/g, "");

function relays(h: MtaHarness, relay: ExpectedEvent["relay"]): readonly string[] | null | undefined {
  switch (relay) {
    case undefined:
      return undefined;
    case "none":
      return null;
    case "local":
      return ["local"];
    case "sink":
      return h.kind === "postfix" ? [`127.0.0.1[127.0.0.1]:${h.sink.port}`] : ["127.0.0.1 [127.0.0.1]"];
    case "refused":
      // Exim's "==" line names no host (the line before it does): the transport stands in.
      return h.kind === "postfix" ? [`127.0.0.1[127.0.0.1]:${h.refusedPort}`] : ["127.0.0.1 [127.0.0.1]", "refused_smtp"];
  }
}

/** The queue ids a scenario's own events may carry: the message's, and an alias's new copy. */
function queueIds(run: ScenarioRun): string[] {
  const ids = run.queueId ? [run.queueId] : [];
  for (const l of run.lines) {
    const fwd = /\(forwarded as ([0-9A-Za-z]+)\)/.exec(l)?.[1];
    if (fwd) ids.push(fwd);
  }
  return ids;
}

export function expectationsFor(h: MtaHarness, s: Scenario, run: ScenarioRun): HookdExpectation[] {
  const listed = HOOKD_EXPECT_OVERRIDES[h.kind]?.[s.name] ?? s.expect[h.kind];
  const out: HookdExpectation[] = [];
  for (const e of listed) {
    if (e.type === "delay" && out.some((x) => x.type === "delay" && x.rcpt_to === e.rcpt_to)) continue;
    const queued = e.type !== "policy_rejection";
    out.push({
      type: e.type,
      rcpt_to: e.rcpt_to,
      ...(e.orig_rcpt ? { orig_rcpt: e.orig_rcpt } : {}),
      ...(e.dsn ? { dsn: e.dsn } : {}),
      ...(e.relay ? { relay: relays(h, e.relay) } : {}),
      ...(bounceClasses(e) ? { bounce_class: bounceClasses(e) } : {}),
      // A refusal at RCPT time comes before any queue file or Message-ID exists.
      ...(queued ? { message_id: bare(run.messageId), queue_id: queueIds(run) } : {}),
      mail_from: s.from,
      count: e.type === "delay" ? deferredAttempts(h, e.rcpt_to) : 1,
    });
  }
  if (run.noticeQueueId && run.queueId) {
    // The non-delivery notice to the sender: mail like any other, from <>, about this message.
    const notice = { kind: "bounce" as const, of_queue_id: run.queueId, of_message_id: bare(run.messageId) };
    const own = noticeMessageId(h, run.noticeQueueId);
    for (const type of ["injection", "delivery"]) {
      out.push({
        type,
        rcpt_to: SENDER,
        ...(type === "delivery" ? { relay: relays(h, "sink"), ...(h.kind === "postfix" ? { dsn: "2.0.0" } : {}) } : {}),
        ...(own ? { message_id: own } : {}),
        mail_from: "",
        queue_id: [run.noticeQueueId],
        notice,
        count: 1,
      });
    }
  }
  return out;
}

/** The Message-ID Postfix's cleanup logged for a notice it generated (Exim logs none for its own). */
function noticeMessageId(h: MtaHarness, qid: string): string | undefined {
  if (h.kind !== "postfix") return undefined;
  const line = h.log.lines().find((l) => l.includes(`: ${qid}: message-id=<`));
  return line ? /message-id=<([^>]+)>/.exec(line)?.[1] : undefined;
}

/** Why `e` does not satisfy `x` (empty: it does). */
export function mismatches(x: HookdExpectation, e: Event): string[] {
  const m: string[] = [];
  const ev = e as Record<string, unknown>;
  const want = (field: string, ok: boolean, wanted: unknown) => {
    if (!ok) m.push(`${field}=${JSON.stringify(ev[field])} (want ${JSON.stringify(wanted)})`);
  };
  want("type", e.type === x.type, x.type);
  want("rcpt_to", ev.rcpt_to === x.rcpt_to, x.rcpt_to);
  want("orig_rcpt", ev.orig_rcpt === x.orig_rcpt, x.orig_rcpt ?? "none");
  if (x.dsn !== undefined) want("dsn", ev.dsn === x.dsn, x.dsn);
  if (x.relay === null) want("relay", ev.relay === undefined, "none");
  else if (x.relay !== undefined) want("relay", x.relay.includes(ev.relay as string), x.relay.join(" | "));
  if (x.bounce_class) want("bounce_class", x.bounce_class.includes(ev.bounce_class as string), x.bounce_class.join(" | "));
  if (x.message_id !== undefined) want("message_id", ev.message_id === x.message_id, x.message_id);
  want("mail_from", ev.mail_from === x.mail_from, x.mail_from);
  if (x.queue_id) want("queue_id", x.queue_id.includes(ev.queue_id as string), x.queue_id.join(" | "));
  want("notice", Bun.deepEquals(ev.notice, x.notice), x.notice ?? "none");
  return m;
}

const describeExpected = (x: HookdExpectation) =>
  [
    x.type,
    x.rcpt_to,
    x.orig_rcpt && `orig_rcpt=${x.orig_rcpt}`,
    x.dsn && `dsn=${x.dsn}`,
    x.relay === null ? "relay=none" : x.relay && `relay=${x.relay.join("|")}`,
    x.bounce_class && `bounce_class=${x.bounce_class.join("|")}`,
    x.notice && `notice=${JSON.stringify(x.notice)}`,
  ]
    .filter(Boolean)
    .join(" ");

export const describeEvent = (e: Event) => {
  const ev = e as Record<string, unknown>;
  const keys = ["rcpt_to", "orig_rcpt", "queue_id", "relay", "dsn", "bounce_class", "message_id", "mail_from", "attempt", "notice"];
  return [e.type, ...keys.filter((k) => ev[k] !== undefined).map((k) => `${k}=${JSON.stringify(ev[k])}`)].join(" ");
};

/** Does the event belong to this scenario (its recipients, its message, its queue files, its notice's)? */
function belongsTo(h: MtaHarness, s: Scenario, run: ScenarioRun, e: Event): boolean {
  const ev = e as Record<string, unknown>;
  const listed = [...s.expect[h.kind], ...(HOOKD_EXPECT_OVERRIDES[h.kind]?.[s.name] ?? [])];
  const addrs = new Set([...s.to, ...listed.map((x) => x.rcpt_to), ...listed.flatMap((x) => (x.orig_rcpt ? [x.orig_rcpt] : []))]);
  const qids = [...queueIds(run), ...(run.noticeQueueId ? [run.noticeQueueId] : [])];
  return (
    addrs.has(ev.rcpt_to as string) ||
    addrs.has(ev.orig_rcpt as string) ||
    ev.message_id === bare(run.messageId) ||
    qids.includes(ev.queue_id as string)
  );
}

/**
 * Every way the received events differ from the scenario's: "missing ..." (with the closest
 * events hookd did send) and "unexpected ...". Empty when they agree exactly.
 */
export function scenarioProblems(h: MtaHarness, s: Scenario, run: ScenarioRun, received: readonly Event[]): string[] {
  const mine = received.filter((e) => belongsTo(h, s, run, e));
  const used = new Set<Event>();
  const problems: string[] = [];
  for (const x of expectationsFor(h, s, run)) {
    const hits = mine.filter((e) => mismatches(x, e).length === 0);
    hits.forEach((e) => used.add(e));
    if (hits.length === x.count) continue;
    if (x.type === "delay" && x.count < 1) problems.push(`the log shows no deferred attempt for ${x.rcpt_to}`);
    const addrs = [x.rcpt_to, x.orig_rcpt];
    const near = mine.filter((e) => {
      const ev = e as Record<string, unknown>;
      return !hits.includes(e) && e.type === x.type && (addrs.includes(ev.rcpt_to as string) || addrs.includes(ev.orig_rcpt as string));
    });
    near.forEach((e) => used.add(e));
    const why = near.map((e) => `; got ${describeEvent(e)}: ${mismatches(x, e).join(", ")}`).join("");
    problems.push(`want ${x.count}× ${describeExpected(x)}, got ${hits.length}${why}`);
  }
  for (const e of mine) if (!used.has(e)) problems.push(`unexpected ${describeEvent(e)}`);
  // A recipient's injection comes before what happened to it.
  for (const inj of mine.filter((e) => e.type === "injection")) {
    const rcpt = (inj as Record<string, unknown>).rcpt_to;
    const at = received.indexOf(inj);
    const early = mine.filter((e) => e.type !== "injection" && (e as Record<string, unknown>).rcpt_to === rcpt && received.indexOf(e) < at);
    for (const e of early) problems.push(`${describeEvent(e)} arrived before its injection`);
  }
  return problems;
}

type SourceView = {
  path: string;
  offset: number;
  status: string;
  lines_read: number;
  lines_not_understood: number;
  recent_not_understood: string[];
};
type StatusView = { sources: SourceView[]; webhooks: { id: string; queue_depth: number; dead_batches: number }[] };

export type HookdOnMta = {
  h: MtaHarness;
  app: TestApp;
  rx: Receiver;
  webhookId: string;
  runs: Map<string, ScenarioRun>;
  /** Every event the receiver got, in arrival order. */
  received(): Event[];
  /** Resolves once hookd has read the whole log and the receiver has every stored event. */
  settle(): Promise<StatusView>;
  stop(): Promise<void>;
};

export async function startHookdOnMta(h: MtaHarness): Promise<HookdOnMta> {
  const rx = await startReceiver();
  let app: TestApp;
  try {
    app = await startTestApp({
      sources: [{ path: h.logPath, format: h.kind, start_at: "beginning", host: HOST, rotate_wait: 100 }],
      delivery: { batch_max_wait: 100 },
    });
  } catch (err) {
    await rx.stop();
    throw err;
  }
  const res = await app.api("POST", "/webhooks", {
    body: { name: `e2e-${h.kind}`, target: `${rx.url}/hookd`, events: ["*"], verification: "none" },
  });
  if (res.status !== 201) {
    const text = await res.text();
    await app.stop();
    await rx.stop();
    throw new Error(`creating the webhook: HTTP ${res.status} ${text}`);
  }
  const webhookId = ((await res.json()) as { results: { id: string } }).results.id;

  const status = async () => ((await (await app.api("GET", "/status")).json()) as { results: StatusView }).results;
  return {
    h,
    app,
    rx,
    webhookId,
    runs: new Map(),
    received: () => rx.requests.flatMap((r) => r.json() as Event[]),
    async settle() {
      return eventually(
        async () => {
          const size = statSync(h.logPath).size;
          const st = await status();
          const src = st.sources.find((s) => s.path === h.logPath);
          const wh = st.webhooks.find((w) => w.id === webhookId);
          if (src && wh && src.offset === size && wh.queue_depth === 0 && statSync(h.logPath).size === size) return st;
          throw new Error(`hookd did not catch up: log ${size} bytes, source ${JSON.stringify(src)}, webhook ${JSON.stringify(wh)}`);
        },
        { timeoutMs: SETTLE_MS, intervalMs: 50 },
      );
    },
    async stop() {
      await app.stop();
      await rx.stop();
      if (process.env.HOOKD_KEEP_MTA_DIRS !== "1") rmSync(app.dir, { recursive: true, force: true });
    },
  };
}

/**
 * The suite, registered once per MTA (like hono's routers sharing one test suite): hookd
 * started on the harness's log, every scenario sent and its events checked, then bounce
 * notices, retries, and the whole stream's validity.
 */
export function hookdMtaSuite(kind: MtaKind, startMta: () => Promise<MtaHarness>): void {
  let h: MtaHarness | null = null;
  let ctx: HookdOnMta | null = null;
  let startError: unknown = null;
  const startedAt = Date.now();

  beforeAll(async () => {
    try {
      h = await startMta();
      ctx = await startHookdOnMta(h);
    } catch (err) {
      startError = err;
    }
  }, 60_000);

  afterAll(async () => {
    await ctx?.stop();
    await h?.stop();
  }, 30_000);

  const need = (): HookdOnMta => {
    if (startError) throw startError;
    if (!ctx) throw new Error(`${kind} + hookd did not start`);
    return ctx;
  };
  const ran = (c: HookdOnMta) => SCENARIOS.filter((s) => c.runs.has(s.name)).map((s) => ({ s, run: c.runs.get(s.name)! }));

  describe(`hookd on a real ${kind} log (format "${kind}") → webhook receiver`, () => {
    for (const s of SCENARIOS) {
      test(`${s.name}: ${s.title}`, async () => {
        const c = need();
        const run = await runScenario(c.h, s);
        c.runs.set(s.name, run);
        await c.settle();
        expect(scenarioProblems(c.h, s, run, c.received())).toEqual([]);
      }, 40_000);
    }

    test("bounce notices are events: each notice's injection and delivery to the sender, from <>, naming the message it is about", async () => {
      const c = need();
      await c.settle();
      const withNotice = ran(c).filter(({ s }) => s.bounceNotice);
      expect(withNotice.length).toBe(SCENARIOS.filter((s) => s.bounceNotice).length);
      const events = c.received();
      const notices = events.filter((e) => "notice" in e);
      // Ground truth: one notice message per scenario that makes the MTA write one, each an
      // injection and a delivery to the sender.
      expect(notices.map((e) => `${e.type} ${e.queue_id} ${e.rcpt_to}`).sort()).toEqual(
        withNotice.flatMap(({ run }) => [`delivery ${run.noticeQueueId} ${SENDER}`, `injection ${run.noticeQueueId} ${SENDER}`]).sort(),
      );
      for (const { run } of withNotice) {
        for (const e of notices.filter((n) => n.queue_id === run.noticeQueueId)) {
          expect({ mail_from: e.mail_from, notice: (e as Record<string, unknown>).notice }).toEqual({
            mail_from: "",
            notice: { kind: "bounce", of_queue_id: run.queueId!, of_message_id: bare(run.messageId) },
          });
        }
      }
      // Nothing else here is from <>: every null-sender event is a notice.
      expect(events.filter((e) => e.mail_from === "" && !("notice" in e)).map(describeEvent)).toEqual([]);
    });

    test("a retry of the deferred mail is one more delay per attempt, nothing else", async () => {
      const c = need();
      const deferred = ["soft@sink.test", "soft-multi@sink.test", "ok@refused.test"];
      await c.settle();
      const before = c.received().length;
      const attempts = deferred.map((r) => deferredAttempts(c.h, r));
      await c.h.flushQueue();
      for (const [i, rcpt] of deferred.entries()) {
        await c.h.log.waitForCount(
          (l) => l.includes(kind === "postfix" ? `: to=<${rcpt}>, ` : ` == ${rcpt} `) && !/retry time not/.test(l),
          attempts[i]! + 1,
          15_000,
        );
      }
      await c.settle();
      const fresh = c.received().slice(before);
      const summary = (events: Event[]) => events.map((e) => `${e.type} ${(e as Record<string, unknown>).rcpt_to}`).sort();
      const newAttempts = deferred.flatMap((r, i) => Array<string>(deferredAttempts(c.h, r) - attempts[i]!).fill(`delay ${r}`));
      expect(newAttempts.length).toBeGreaterThanOrEqual(deferred.length);
      expect(summary(fresh)).toEqual(newAttempts.sort());
      // Postfix's qmgr logs "from=<…>, nrcpt=" again on each retry: still one injection.
      for (const rcpt of deferred) {
        const of = (type: string) => c.received().filter((e) => e.type === type && (e as Record<string, unknown>).rcpt_to === rcpt).length;
        expect({ rcpt, injections: of("injection"), delays: of("delay") }).toEqual({
          rcpt,
          injections: 1,
          delays: deferredAttempts(c.h, rcpt),
        });
      }
    }, 40_000);

    test("every event is a valid EventInput with a unique event_id, host mx1, a UTC time of this run, and belongs to a scenario", async () => {
      const c = need();
      const st = await c.settle();
      const events = c.received();
      expect(events.length).toBeGreaterThan(0);
      for (const r of c.rx.requests) {
        expect(r.method).toBe("POST");
        expect(r.headers["content-type"]).toStartWith("application/json");
        expect(Array.isArray(r.json())).toBe(true);
      }
      const invalid = events.flatMap((e) => {
        const p = EventInput.safeParse(e);
        return p.success ? [] : [`${describeEvent(e)}: ${p.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`];
      });
      expect(invalid).toEqual([]);
      const ids = events.map((e) => e.event_id);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
      expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
      expect([...new Set(events.map((e) => e.host))]).toEqual([HOST]);
      const badTime = events.filter((e) => !/Z$/.test(e.timestamp) || Math.abs(Date.parse(e.timestamp) - startedAt) > 10 * 60_000);
      expect(badTime.map((e) => `${e.timestamp} ${describeEvent(e)}`)).toEqual([]);
      const orphans = events.filter((e) => !ran(c).some(({ s, run }) => belongsTo(c.h, s, run, e)));
      expect(orphans.map(describeEvent)).toEqual([]);
      // every real MTA line is understood (an event, or known not to be one)
      const src = st.sources.find((s) => s.path === c.h.logPath)!;
      expect(src.lines_read).toBe(c.h.log.lines().length);
      expect(src.recent_not_understood).toEqual([]);
      expect(src.lines_not_understood).toBe(0);
    }, 30_000);

    test("after every scenario and retry, each scenario still has exactly its events (nothing late, nothing doubled)", async () => {
      const c = need();
      await c.settle();
      const events = c.received();
      const all = ran(c).map(({ s, run }) => ({ scenario: s.name, problems: scenarioProblems(c.h, s, run, events) }));
      expect(all).toEqual(ran(c).map(({ s }) => ({ scenario: s.name, problems: [] })));
      expect(ran(c).length).toBe(SCENARIOS.length);
    }, 30_000);

    if (kind === "postfix") {
      test("the totals agree with pflogsumm's on the same log (delivered, deferrals, bounced, rejected): what hookd sent, and `hookd parse` on the file", async () => {
        const c = need();
        await c.settle();
        requireFiles([{ path: PFLOGSUMM, what: "pflogsumm (the baseline operators reconcile with)", pkg: "pflogsumm" }]);
        // Ground truth: what the scenarios say happened, notices included.
        const truth: Record<string, number> = {};
        for (const { s, run } of ran(c)) for (const x of expectationsFor(c.h, s, run)) truth[x.type] = (truth[x.type] ?? 0) + x.count;
        const pflogsumm = (await runPflogsumm(c.h.logPath)).totals;
        expect(pflogsumm).toEqual(hookdTotals(truth));
        const sent: Record<string, number> = {};
        for (const e of c.received()) sent[e.type] = (sent[e.type] ?? 0) + 1;
        expect(hookdTotals(sent)).toEqual(pflogsumm);
        const cli = await runHookd(["parse", "--format", "postfix", c.h.logPath]);
        expect(cli.code).toBe(0);
        expect(hookdTotals(parseSummaryCounts(cli.stderr))).toEqual(pflogsumm);
        expect(cli.stdout.trim().split("\n").length).toBe(c.received().length);
      }, 30_000);
    } else {
      test("the totals agree with eximstats' on the same log (messages received, addresses delivered, messages delayed and failed)", async () => {
        const c = need();
        await c.settle();
        const eximstats = `${EXIM_ROOT}/usr/sbin/eximstats`;
        requireFiles([{ path: eximstats, what: "eximstats (Exim's own log summary)", pkg: "exim4-base (unpacked by .ci/install-mta.sh)" }]);
        const report = await run(["perl", eximstats, "-nr", "-nt", "-h0", "-t0", "-q0", c.h.logPath]);
        const totals = eximstatsTotals(report.stdout);
        // 9 scenario messages and 4 notices in; the 4 scenario deliveries and the 4 notices out.
        expect(totals).toEqual({ received: 13, delivered: 8, delayed: 4, failed: 4 });
        expect(hookdEximTotals(c.received())).toEqual(totals);
      }, 30_000);
    }
  });
}
