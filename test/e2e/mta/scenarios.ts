// The end-to-end mail scenarios, shared by the Postfix and Exim harnesses: what is sent, the
// real log lines each MTA writes for it, and the hookd events those lines should become
// (SPEC "Events" table). runScenario() sends one scenario through a harness and waits until
// all its lines (and any bounce notice to the sender) are in the log.
//
// Addresses (the sink answers RCPT by local part, see smtp-sink.ts):
//   *@sink.test     → our SMTP sink on 127.0.0.1: ok* 250, hard* 550 5.1.1, soft*/expire* 451 4.2.0
//   *@refused.test  → 127.0.0.1:<closed port>: connection refused
//   *@local.test    → the MTA's local domain: alias@local.test → ok-alias@sink.test, others unknown
//   blocked@sink.test is refused by the MTA's own SMTP server policy (RCPT time, SMTP only).
// Every recipient appears in one scenario only, and every message has its own Message-ID,
// so events can be matched to scenarios by rcpt_to or message_id.
import type { MtaHarness, Submitted } from "./common.ts";

export type MtaKind = "postfix" | "exim";

export type HookdEventType = "injection" | "delivery" | "delay" | "bounce" | "expired" | "policy_rejection";

export type ExpectedEvent = {
  type: HookdEventType;
  rcpt_to: string;
  /** Original recipient before alias expansion. */
  orig_rcpt?: string;
  /** Enhanced status code, when the MTA's log line carries one. */
  dsn?: string;
  bounce_class?: "hard" | "soft" | "block";
  /** Where the attempt went: our sink, the refused port, the MTA's local delivery, nowhere. */
  relay?: "sink" | "refused" | "local" | "none";
  note?: string;
};

export type LogContext = {
  /** Postfix queue id / Exim message id of the scenario's message (null: nothing queued). */
  queueId: string | null;
  messageId: string;
  sinkPort: number;
  refusedPort: number;
};

export type Scenario = {
  name: string;
  title: string;
  /** sendmail: local submission (Postfix sendmail/pickup, Exim -odi); smtp: the MTA's SMTP server. */
  via: "sendmail" | "smtp";
  from: string;
  to: string[];
  /** After the first attempt, force the message to expire (harness.expire). */
  then?: "expire";
  /** The MTA returns a non-delivery notice to `from`: one more message (from <>), whose
   *  injection and delivery to sender@sink.test are real events too. */
  bounceNotice: boolean;
  /** hookd events the scenario's log lines should produce, in log order. */
  expect: Record<MtaKind, ExpectedEvent[]>;
  /** Lines that must be in the log (before and, for "expire", after the action). */
  logLines: Record<MtaKind, (ctx: LogContext) => RegExp[]>;
  /** Lines that appear only after the `then` action. */
  afterLines?: Record<MtaKind, (ctx: LogContext) => RegExp[]>;
};

export const SENDER = "sender@sink.test";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const re = (...parts: string[]) => new RegExp(parts.join(""));
const sinkRelay = (c: LogContext) => esc(`relay=127.0.0.1[127.0.0.1]:${c.sinkPort}`);
const pq = (c: LogContext) => `postfix/\\w+\\[\\d+\\]: ${c.queueId}: `;
const pqmgr = (c: LogContext, n: number) =>
  re(`postfix/qmgr\\[\\d+\\]: ${c.queueId}: from=<${esc(SENDER)}>, size=\\d+, nrcpt=${n} \\(queue active\\)`);
const eid = (c: LogContext) => `^\\S+ \\S+ ${c.queueId} `;
const eximH = esc("H=127.0.0.1 [127.0.0.1]");
const eximIn = (c: LogContext) => re(eid(c), `<= ${esc(SENDER)} U=root P=local S=\\d+ id=${esc(c.messageId.replace(/^<|>$/g, ""))}`);

export const SCENARIOS: Scenario[] = [
  {
    name: "delivered",
    title: "one recipient, accepted by the next hop",
    via: "sendmail",
    from: SENDER,
    to: ["ok@sink.test"],
    bounceNotice: false,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "ok@sink.test" },
        { type: "delivery", rcpt_to: "ok@sink.test", dsn: "2.0.0", relay: "sink" },
      ],
      exim: [
        { type: "injection", rcpt_to: "ok@sink.test" },
        { type: "delivery", rcpt_to: "ok@sink.test", relay: "sink" },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 1),
        re(pq(c), `to=<ok@sink\\.test>, ${sinkRelay(c)}, .*dsn=2\\.0\\.0, status=sent \\(250 2\\.0\\.0 Ok: queued as SINK\\d+\\)`),
        re(pq(c), "removed"),
      ],
      exim: (c) => [
        eximIn(c),
        re(eid(c), `=> ok@sink\\.test R=sink T=sink_smtp ${eximH} C="250 2\\.0\\.0 Ok: queued as SINK\\d+"`),
        re(eid(c), "Completed"),
      ],
    },
  },
  {
    name: "hard-bounce",
    title: "the next hop answers RCPT with 550 5.1.1",
    via: "sendmail",
    from: SENDER,
    to: ["hard@sink.test"],
    bounceNotice: true,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "hard@sink.test" },
        { type: "bounce", rcpt_to: "hard@sink.test", dsn: "5.1.1", bounce_class: "hard", relay: "sink" },
      ],
      exim: [
        { type: "injection", rcpt_to: "hard@sink.test" },
        {
          type: "bounce",
          rcpt_to: "hard@sink.test",
          dsn: "5.1.1",
          bounce_class: "hard",
          relay: "sink",
          note: "dsn from the response text",
        },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 1),
        re(
          pq(c),
          `to=<hard@sink\\.test>, ${sinkRelay(c)}, .*dsn=5\\.1\\.1, status=bounced \\(host 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] said: 550 5\\.1\\.1 <hard@sink\\.test>: user unknown \\(in reply to RCPT TO command\\)\\)`,
        ),
      ],
      exim: (c) => [
        eximIn(c),
        re(
          eid(c),
          `\\*\\* hard@sink\\.test R=sink T=sink_smtp ${eximH}: SMTP error from remote mail server after RCPT TO:<hard@sink\\.test>: 550 5\\.1\\.1 <hard@sink\\.test>: user unknown`,
        ),
      ],
    },
  },
  {
    name: "soft-deferral",
    title: "the next hop answers RCPT with 451 4.2.0; the message stays queued",
    via: "sendmail",
    from: SENDER,
    to: ["soft@sink.test"],
    bounceNotice: false,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "soft@sink.test" },
        { type: "delay", rcpt_to: "soft@sink.test", dsn: "4.2.0", relay: "sink" },
      ],
      exim: [
        { type: "injection", rcpt_to: "soft@sink.test" },
        { type: "delay", rcpt_to: "soft@sink.test", dsn: "4.2.0", relay: "sink", note: "dsn from the response text" },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 1),
        re(
          pq(c),
          `to=<soft@sink\\.test>, ${sinkRelay(c)}, .*dsn=4\\.2\\.0, status=deferred \\(host 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] said: 451 4\\.2\\.0 <soft@sink\\.test>: try later \\(in reply to RCPT TO command\\)\\)`,
        ),
      ],
      exim: (c) => [
        eximIn(c),
        re(
          eid(c),
          `== soft@sink\\.test R=sink T=sink_smtp defer \\(-44\\) ${eximH}: SMTP error from remote mail server after RCPT TO:<soft@sink\\.test>: 451 4\\.2\\.0 <soft@sink\\.test>: try later`,
        ),
      ],
    },
  },
  {
    name: "connection-refused",
    title: "the next hop's port is closed; the message stays queued",
    via: "sendmail",
    from: SENDER,
    to: ["ok@refused.test"],
    bounceNotice: false,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "ok@refused.test" },
        { type: "delay", rcpt_to: "ok@refused.test", dsn: "4.4.1", relay: "none" },
      ],
      exim: [
        { type: "injection", rcpt_to: "ok@refused.test" },
        { type: "delay", rcpt_to: "ok@refused.test", relay: "refused" },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 1),
        re(
          pq(c),
          `to=<ok@refused\\.test>, relay=none, .*dsn=4\\.4\\.1, status=deferred \\(connect to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${c.refusedPort}: Connection refused\\)`,
        ),
      ],
      exim: (c) => [
        eximIn(c),
        re(eid(c), `${eximH} Connection refused`),
        re(eid(c), "== ok@refused\\.test R=refused T=refused_smtp defer \\(111\\): Connection refused"),
      ],
    },
  },
  {
    name: "local-unknown-user",
    title: "a local domain without that user",
    via: "sendmail",
    from: SENDER,
    to: ["nouser@local.test"],
    bounceNotice: true,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "nouser@local.test" },
        { type: "bounce", rcpt_to: "nouser@local.test", dsn: "5.1.1", bounce_class: "hard", relay: "local" },
      ],
      exim: [
        { type: "injection", rcpt_to: "nouser@local.test" },
        { type: "bounce", rcpt_to: "nouser@local.test", bounce_class: "hard", note: '"Unrouteable address", no code in the line' },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 1),
        re(pq(c), `to=<nouser@local\\.test>, relay=local, .*dsn=5\\.1\\.1, status=bounced \\(unknown user: "nouser"\\)`),
      ],
      exim: (c) => [eximIn(c), re(eid(c), "\\*\\* nouser@local\\.test: Unrouteable address")],
    },
  },
  {
    name: "alias",
    title: "alias@local.test is an alias of ok-alias@sink.test (orig_to / <orig> in the logs)",
    via: "sendmail",
    from: SENDER,
    to: ["alias@local.test"],
    bounceNotice: false,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "alias@local.test" },
        {
          type: "delivery",
          rcpt_to: "alias@local.test",
          dsn: "2.0.0",
          relay: "local",
          note: "local(8) logs status=sent (forwarded as NEWQID): the alias expansion, in the first queue file",
        },
        {
          type: "injection",
          rcpt_to: "ok-alias@sink.test",
          orig_rcpt: "alias@local.test",
          note: "the forwarded copy, a new queue id, same message-id",
        },
        { type: "delivery", rcpt_to: "ok-alias@sink.test", orig_rcpt: "alias@local.test", dsn: "2.0.0", relay: "sink" },
      ],
      exim: [
        { type: "injection", rcpt_to: "alias@local.test", note: "the <= line lists no recipients; the alias shows in the => line" },
        { type: "delivery", rcpt_to: "ok-alias@sink.test", orig_rcpt: "alias@local.test", relay: "sink" },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 1),
        re(pq(c), "to=<alias@local\\.test>, relay=local, .*dsn=2\\.0\\.0, status=sent \\(forwarded as [0-9A-Za-z]+\\)"),
        re(
          `postfix/smtp\\[\\d+\\]: [0-9A-Za-z]+: to=<ok-alias@sink\\.test>, orig_to=<alias@local\\.test>, ${sinkRelay(c)}, .*dsn=2\\.0\\.0, status=sent`,
        ),
      ],
      exim: (c) => [
        eximIn(c),
        re(eid(c), `=> ok-alias@sink\\.test <alias@local\\.test> R=sink T=sink_smtp ${eximH} C="250 2\\.0\\.0 Ok: queued as SINK\\d+"`),
        re(eid(c), "Completed"),
      ],
    },
  },
  {
    name: "policy-rejection",
    title: "over SMTP: blocked@sink.test refused at RCPT by the MTA's own policy, ok-smtp@sink.test accepted",
    via: "smtp",
    from: SENDER,
    to: ["blocked@sink.test", "ok-smtp@sink.test"],
    bounceNotice: false,
    expect: {
      postfix: [
        { type: "policy_rejection", rcpt_to: "blocked@sink.test", dsn: "5.7.1", bounce_class: "block" },
        { type: "injection", rcpt_to: "ok-smtp@sink.test" },
        { type: "delivery", rcpt_to: "ok-smtp@sink.test", dsn: "2.0.0", relay: "sink" },
      ],
      exim: [
        { type: "policy_rejection", rcpt_to: "blocked@sink.test", dsn: "5.7.1", bounce_class: "block" },
        { type: "injection", rcpt_to: "ok-smtp@sink.test" },
        { type: "delivery", rcpt_to: "ok-smtp@sink.test", relay: "sink" },
      ],
    },
    logLines: {
      postfix: (c) => [
        re(
          "postfix/smtpd\\[\\d+\\]: NOQUEUE: reject: RCPT from unknown\\[127\\.0\\.0\\.1\\]: 554 5\\.7\\.1 <blocked@sink\\.test>: Recipient address rejected: Access denied; from=<sender@sink\\.test> to=<blocked@sink\\.test> proto=ESMTP helo=<client\\.hookd\\.test>",
        ),
        re(pq(c), "client=unknown\\[127\\.0\\.0\\.1\\]"),
        pqmgr(c, 1),
        re(pq(c), `to=<ok-smtp@sink\\.test>, ${sinkRelay(c)}, .*dsn=2\\.0\\.0, status=sent`),
      ],
      exim: (c) => [
        re(
          "^\\S+ \\S+ H=\\(client\\.hookd\\.test\\) \\[127\\.0\\.0\\.1\\] F=<sender@sink\\.test> rejected RCPT <blocked@sink\\.test>: 5\\.7\\.1 recipient blocked by policy",
        ),
        re(eid(c), `<= ${esc(SENDER)} H=\\(client\\.hookd\\.test\\) \\[127\\.0\\.0\\.1\\] P=esmtp S=\\d+ id=`),
        re(eid(c), `=> ok-smtp@sink\\.test R=sink T=sink_smtp ${eximH} C="250`),
        re(eid(c), "Completed"),
      ],
    },
  },
  {
    name: "mixed-three",
    title: "one message, three recipients: delivered, bounced, deferred",
    via: "sendmail",
    from: SENDER,
    to: ["ok-multi@sink.test", "hard-multi@sink.test", "soft-multi@sink.test"],
    bounceNotice: true,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "ok-multi@sink.test" },
        { type: "injection", rcpt_to: "hard-multi@sink.test" },
        { type: "injection", rcpt_to: "soft-multi@sink.test" },
        { type: "delivery", rcpt_to: "ok-multi@sink.test", dsn: "2.0.0", relay: "sink" },
        { type: "bounce", rcpt_to: "hard-multi@sink.test", dsn: "5.1.1", bounce_class: "hard", relay: "sink" },
        { type: "delay", rcpt_to: "soft-multi@sink.test", dsn: "4.2.0", relay: "sink" },
      ],
      exim: [
        { type: "injection", rcpt_to: "ok-multi@sink.test" },
        { type: "injection", rcpt_to: "hard-multi@sink.test" },
        { type: "injection", rcpt_to: "soft-multi@sink.test" },
        { type: "delivery", rcpt_to: "ok-multi@sink.test", relay: "sink" },
        { type: "bounce", rcpt_to: "hard-multi@sink.test", dsn: "5.1.1", bounce_class: "hard", relay: "sink" },
        { type: "delay", rcpt_to: "soft-multi@sink.test", dsn: "4.2.0", relay: "sink" },
      ],
    },
    logLines: {
      postfix: (c) => [
        pqmgr(c, 3),
        re(pq(c), `to=<ok-multi@sink\\.test>, ${sinkRelay(c)}, .*dsn=2\\.0\\.0, status=sent`),
        re(pq(c), `to=<hard-multi@sink\\.test>, ${sinkRelay(c)}, .*dsn=5\\.1\\.1, status=bounced`),
        re(pq(c), `to=<soft-multi@sink\\.test>, ${sinkRelay(c)}, .*dsn=4\\.2\\.0, status=deferred`),
      ],
      exim: (c) => [
        eximIn(c),
        re(eid(c), `[=-]> ok-multi@sink\\.test R=sink T=sink_smtp ${eximH} C="250`),
        re(eid(c), `\\*\\* hard-multi@sink\\.test R=sink T=sink_smtp ${eximH}: .*550 5\\.1\\.1`),
        re(eid(c), `== soft-multi@sink\\.test R=sink T=sink_smtp defer \\(-44\\) ${eximH}: .*451 4\\.2\\.0`),
      ],
    },
  },
  {
    name: "expired",
    title: "deferred (451), then given up on: queue lifetime (Postfix) / retry timeout (Exim) exceeded",
    via: "sendmail",
    from: SENDER,
    to: ["expire@sink.test"],
    // biome-ignore lint/suspicious/noThenProperty: a scenario is plain data, never awaited
    then: "expire",
    bounceNotice: true,
    expect: {
      postfix: [
        { type: "injection", rcpt_to: "expire@sink.test" },
        { type: "delay", rcpt_to: "expire@sink.test", dsn: "4.2.0", relay: "sink" },
        { type: "delay", rcpt_to: "expire@sink.test", dsn: "4.2.0", relay: "sink", note: "the last attempt, just before the expiry" },
        {
          type: "expired",
          rcpt_to: "expire@sink.test",
          note: "qmgr logs 'QID: from=<sender>, status=expired, returned to sender' once per message: it applies to the recipients still deferred",
        },
      ],
      exim: [
        { type: "injection", rcpt_to: "expire@sink.test" },
        { type: "delay", rcpt_to: "expire@sink.test", dsn: "4.2.0", relay: "sink" },
        { type: "delay", rcpt_to: "expire@sink.test", dsn: "4.2.0", relay: "sink", note: "the last attempt, just before the expiry" },
        { type: "expired", rcpt_to: "expire@sink.test", note: "'** expire@sink.test: retry timeout exceeded'" },
      ],
    },
    logLines: {
      postfix: (c) => [pqmgr(c, 1), re(pq(c), `to=<expire@sink\\.test>, ${sinkRelay(c)}, .*dsn=4\\.2\\.0, status=deferred`)],
      exim: (c) => [eximIn(c), re(eid(c), "== expire@sink\\.test R=sink T=sink_smtp defer \\(-44\\) .*451 4\\.2\\.0")],
    },
    afterLines: {
      postfix: (c) => [re(`postfix/qmgr\\[\\d+\\]: ${c.queueId}: from=<sender@sink\\.test>, status=expired, returned to sender`)],
      exim: (c) => [re(eid(c), "\\*\\* expire@sink\\.test: retry timeout exceeded"), re(eid(c), "Completed")],
    },
  },
];

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}

export type ScenarioRun = {
  scenario: Scenario;
  messageId: string;
  queueId: string | null;
  /** Log line index where the scenario began (for LogWatcher.waitFor's `since`). */
  since: number;
  /** The log lines that matched logLines/afterLines, in the order of the patterns. */
  lines: string[];
  /** The queue id of the bounce notice to the sender, when there is one. */
  noticeQueueId: string | null;
};

/**
 * Submit one scenario through a harness, perform its `then` action, and wait until every
 * expected log line is there (each pattern must match a line written after the start).
 * With a bounce notice, also waits for its delivery to the sender, so the MTA is quiet
 * before the next scenario.
 */
export async function runScenario(h: MtaHarness, s: Scenario, timeoutMs = 15_000): Promise<ScenarioRun> {
  const since = h.log.mark();
  const input = { from: s.from, to: s.to, subject: `hookd e2e ${s.name}` };
  let sent: Submitted;
  if (s.via === "smtp") {
    const viaSmtp = await h.submitViaSmtp(input);
    // the SMTP-level outcome must agree with the scenario: which recipients were refused
    const expectedRejected = s.expect[h.kind].filter((e) => e.type === "policy_rejection").map((e) => e.rcpt_to);
    if (viaSmtp.smtp.rejected.join(",") !== expectedRejected.join(",")) {
      throw new Error(`${h.kind} ${s.name}: SMTP rejected [${viaSmtp.smtp.rejected}] but expected [${expectedRejected}]`);
    }
    sent = viaSmtp;
  } else {
    sent = await h.sendMail(input);
  }
  const ctx: LogContext = { queueId: sent.queueId, messageId: sent.messageId, sinkPort: h.sink.port, refusedPort: h.refusedPort };
  const lines: string[] = [];
  for (const pattern of s.logLines[h.kind](ctx)) lines.push(await h.log.waitFor(pattern, timeoutMs, since));
  if (s.then === "expire") {
    if (!sent.queueId) throw new Error(`${h.kind} ${s.name}: no queue id to expire`);
    const afterMark = h.log.mark();
    await h.expire(sent.queueId);
    for (const pattern of s.afterLines?.[h.kind](ctx) ?? []) lines.push(await h.log.waitFor(pattern, timeoutMs, afterMark));
  }
  let noticeQueueId: string | null = null;
  if (s.bounceNotice) {
    if (h.kind === "postfix") {
      const line = await h.log.waitFor(
        re(`postfix/bounce\\[\\d+\\]: ${sent.queueId}: sender non-delivery notification: ([0-9A-Za-z]+)`),
        timeoutMs,
        since,
      );
      noticeQueueId = /notification: ([0-9A-Za-z]+)/.exec(line)?.[1] ?? null;
      lines.push(line);
      lines.push(
        await h.log.waitFor(re(`: ${noticeQueueId}: to=<sender@sink\\.test>, ${sinkRelay(ctx)}, .*status=sent`), timeoutMs, since),
      );
    } else {
      const line = await h.log.waitFor(re(`^\\S+ \\S+ (\\S+) <= <> R=${sent.queueId} `), timeoutMs, since);
      noticeQueueId = /^\S+ \S+ (\S+) <= /.exec(line)?.[1] ?? null;
      lines.push(line);
      lines.push(await h.log.waitFor(re(`^\\S+ \\S+ ${noticeQueueId} [=-]> sender@sink\\.test `), timeoutMs, since));
    }
  }
  return { scenario: s, messageId: sent.messageId, queueId: sent.queueId, since, lines, noticeQueueId };
}
