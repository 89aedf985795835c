// feedback: reports/s through hookd's LMTP intake (parse + match against a store of
// BENCH_FEEDBACK_STORE_EVENTS events + commit, synchronous=FULL) against smtp-server in LMTP
// mode accepting the same messages without reading them (drain the stream, answer 250): what
// the parsing, the lookups and the durable commit cost over the protocol itself. Both run in
// this process with BENCH_FEEDBACK_CONNECTIONS clients sending BENCH_FEEDBACK_REPORTS real
// reports (RFC 3464 DSNs from Postfix, Gmail and Exim, ARF complaints, plain bounces), each made
// unique by its own Message-ID header, each matched to a stored message by its returned one.
// Then the lookup itself on that store: a Message-ID that is not there (the common case for
// backscatter), found through message_lookup vs the scan of every event it replaces.
import { SMTPServer } from "smtp-server";
import path from "node:path";
import { readFileSync } from "node:fs";
import { intakeDeps } from "../src/feedback/intake.ts";
import { LmtpIntake } from "../src/feedback/lmtp.ts";
import { catchUp, startLookupIndexer } from "../src/feedback/lookup-indexer.ts";
import { silentLogger } from "../src/lib/log.ts";
import { FeedbackStats } from "../src/feedback/stats.ts";
import { defaultConfig } from "../src/config/schema.ts";
import type { Store } from "../src/store/driver.ts";
import { openStore } from "../src/store/open.ts";
import { sqliteOf } from "../src/store/sqlite/driver.ts";
import { insertRowsTx } from "../src/store/sqlite/events.ts";
import { eventRows } from "../src/store/event-rows.ts";
import { findMessagesByMessageId } from "../src/store/sqlite/message-lookup.ts";
import type { Event } from "../src/events/schema.ts";
import { LmtpClient } from "../test/feedback/lmtp-client.ts";
import { envNum, fmtN, note, rm, tmp, type Row } from "./perf-common.ts";

const FIXTURES = path.join(import.meta.dir, "../test/fixtures/feedback");
/** Reports and the Message-ID each returns (the stored original it is matched to). */
const REPORTS: [file: string, returnedMid: string, rcpt: string][] = [
  ["sisimai/rhost-google-06.eml", "222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp", "michitsuna@example.org"],
  ["sisimai/lhost-postfix-57.eml", "44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp", "kijitora@cr.nyaan.jp"],
  ["sisimai/lhost-postfix-06.eml", "20141024104625.9C81E2203D@vagrant-centos65.vagrantup.com", "kijitora@neko.example.jp"],
  ["sisimai/lhost-sendmail-01.eml", "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org", "userunknown@bouncehammer.jp"],
  ["sisimai/lhost-exim-01.eml", "E1P1ce6-000Egt-GZ@e1.example.org", "kijitora@example.ed.jp"],
  ["sisimai/arf-02.eml", "000000000000000000000000.smtp@example.com", "this-local-part-does-not-exist-on-yahoo@yahoo.com"],
  ["sisimai/arf-14.eml", "2222222222222222-00000000-eeee-eeee-ffff-222222222222-111111@email.amazonses.com", "kijitora@y.example.com"],
  ["sisimai/lhost-qmail-01.eml", "000000000.9999999999999.JavaMail.postmaster@mailhub", "kijitora@example.ne.jp"],
];

const encoder = new TextEncoder();

function messages(n: number): Uint8Array[] {
  const raw = REPORTS.map(([f]) => readFileSync(path.join(FIXTURES, f), "latin1"));
  // A Message-ID of its own first (the report's key reads the first): n distinct reports.
  return Array.from({ length: n }, (_, i) => encoder.encode(`Message-ID: <bench-${i}@feedback.bench>\r\n${raw[i % raw.length]!}`));
}

/** `events` stored events (3 per message), the reports' originals among them, then indexed. */
async function bigStore(dir: string, events: number): Promise<Store> {
  const store = openStore(path.join(dir, "hookd.db"));
  const start = Date.now() - 7 * 86_400_000;
  const per = Math.ceil(events / 3);
  let batch: Event[] = [];
  const flush = () => {
    const rows = eventRows(batch);
    sqliteOf(store)
      .transaction(() => insertRowsTx(sqliteOf(store), rows, "bench"))
      .immediate();
    batch = [];
  };
  for (let m = 0; m < per; m++) {
    const ts = new Date(start + Math.floor((m / per) * 7 * 86_400_000)).toISOString();
    const base = {
      host: "mx1",
      timestamp: ts,
      queue_id: Bun.hash(`q${m}`).toString(16).slice(0, 11).toUpperCase(),
      message_id: `${Bun.hash(`m${m}`).toString(16)}.${m}@mail.example.com`,
      mail_from: "news@example.com",
      rcpt_to: `user${m % 50_000}@example.org`,
    };
    batch.push(
      { ...base, event_id: `i${m}`, type: "injection" } as Event,
      { ...base, event_id: `d${m}`, type: "delivery", dsn: "2.0.0" } as Event,
      { ...base, event_id: `o${m}`, type: "open" } as Event,
    );
    if (batch.length >= 30_000) flush();
  }
  for (const [i, [, mid, rcpt]] of REPORTS.entries()) {
    batch.push({
      event_id: `orig${i}`,
      type: "injection",
      timestamp: new Date().toISOString(),
      host: "mx1",
      queue_id: `B${i}ENCH`,
      message_id: mid,
      rcpt_to: rcpt,
    } as Event);
  }
  flush();
  await store.feedback.activateIndex();
  const t0 = performance.now();
  await catchUp(store, { step: 5000, pause: async () => {} });
  const s = (performance.now() - t0) / 1000;
  note(
    "feedback",
    `message_lookup built over ${fmtN(events)} stored events in ${s.toFixed(1)} s (${fmtN(events / s)} events/s, steps of 5,000; random Message-IDs and queue ids)`,
  );
  return store;
}

async function drive(port: number, msgs: Uint8Array[], connections: number): Promise<number> {
  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = await LmtpClient.connect(port);
      try {
        for (let i = next++; i < msgs.length; i = next++) {
          const r = await c.send("", ["bounces@feedback.bench"], msgs[i]!);
          if (!r.data[0]?.startsWith("250")) throw new Error(`message ${i} answered ${r.data[0]}`);
          accepted++;
        }
      } finally {
        await c.quit();
      }
    }),
  );
  if (accepted !== msgs.length) throw new Error(`${accepted} of ${msgs.length} accepted`);
  return msgs.length / ((performance.now() - t0) / 1000);
}

async function baselineRate(msgs: Uint8Array[], connections: number): Promise<number> {
  const server = new SMTPServer({
    lmtp: true,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    size: 10_000_000,
    onData(stream, _session, callback) {
      stream.on("data", () => {});
      stream.on("end", () => callback(null, "accepted"));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  try {
    return await drive((server.server.address() as { port: number }).port, msgs, connections);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function feedbackFigures(rows: Row[]) {
  const reports = envNum("BENCH_FEEDBACK_REPORTS", 3000);
  const connections = envNum("BENCH_FEEDBACK_CONNECTIONS", 4);
  const storeEvents = envNum("BENCH_FEEDBACK_STORE_EVENTS", 300_000);
  const dir = tmp();
  let store: Store | null = null;
  try {
    store = await bigStore(dir, storeEvents);
    const msgs = messages(reports);
    const baseline = await baselineRate(msgs, connections);
    const stats = new FeedbackStats();
    const config = { ...defaultConfig().feedback, local_mtas: ["mx.bench.invalid"] };
    const intake = new LmtpIntake({
      ...intakeDeps({ store, config, hostname: "bench", stats }),
      listenHost: "127.0.0.1",
      listenPort: 0,
      maxBytes: config.max_size,
    });
    // As in hookd serve: the index job keeps up with the events the reports add.
    const indexer = startLookupIndexer(store, silentLogger);
    const { port } = await intake.start();
    let rate: number;
    try {
      rate = await drive(port, msgs, connections);
    } finally {
      await intake.stop();
      await indexer.stop();
    }
    const c = stats.status().counters;
    rows.push({
      figure: `feedback: reports/s through LMTP (parse + match + commit), ${connections} connections, ${fmtN(storeEvents)}-event store`,
      baseline: "smtp-server LMTP accepting the same messages unread",
      baselineValue: baseline,
      value: rate,
      unit: "reports/s",
      higherIsBetter: true,
    });
    note(
      "feedback",
      `${fmtN(reports)} reports: ${JSON.stringify(c.byKind)}, matched ${JSON.stringify(c.matched)}, ${fmtN(c.events)} events committed (synchronous=FULL; the reports of concurrent connections share a transaction)`,
    );

    // One lookup of a Message-ID that is not stored: through the index, and by the scan it replaces.
    const time = (fn: () => unknown, n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      return (performance.now() - t0) / n;
    };
    const indexed = time(() => findMessagesByMessageId(sqliteOf(store!), `absent-${Math.random()}@nowhere`, 100), 200);
    const scan = sqliteOf(store).query("SELECT seq FROM events WHERE message_id = ? ORDER BY ts DESC LIMIT 100");
    const scanned = time(() => scan.all(`absent-${Math.random()}@nowhere`), 3);
    note(
      "feedback",
      `absent Message-ID: ${indexed.toFixed(2)} ms through message_lookup, ${fmtN(scanned)} ms walking every event (${fmtN(scanned / indexed)}× faster)`,
    );
    rows.push({
      figure: `feedback: lookup of an absent Message-ID, ${fmtN(storeEvents)}-event store`,
      baseline: "walking events newest first (no index)",
      baselineValue: scanned,
      value: indexed,
      unit: "ms",
      higherIsBetter: false,
    });
  } finally {
    await store?.close();
    rm(dir);
  }
}
