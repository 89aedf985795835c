// milter: what tracking in the mail path costs Postfix. A private Postfix on loopback
// (test/e2e/mta/postfix.ts) relays 1,000 newsletters (50 KB of quoted-printable HTML with 100
// links, marked X-Hookd-Track with a campaign, so each is rewritten and writes its row) to an
// SMTP sink, submitted over 8 SMTP connections; the figure is messages/s from the first MAIL to
// the last message at the sink, with hookd's milter in smtpd_milters against the same Postfix
// without it, rounds interleaved (milter off, on, off, on, …). hookd runs as a process of its
// own. Also: the milter's own time per message (hookd's histogram, under that load) and the
// tracking work alone in this process (trackMail: MIME, rewrite, signing; no store), p50/p99.
import { chmodSync, chownSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { encode as qpEncode, wrap as qpWrap } from "libqp";
import { startPostfix } from "../test/e2e/mta/postfix.ts";
import { startSmtpSink } from "../test/e2e/mta/smtp-sink.ts";
import { passwdId } from "../test/e2e/mta/common.ts";
import { newKeyring } from "../src/track/keyring.ts";
import { trackMail } from "../src/track/mail-tracker.ts";
import { splitMessage } from "../src/mail/headers.ts";
import {
  cpuSeconds,
  envNum,
  fmtN,
  freePort,
  note,
  percentile,
  rm,
  spawnHookd,
  stopProcess,
  tmp,
  waitUntil,
  type Row,
} from "./perf-common.ts";

const CONNECTIONS = envNum("BENCH_MILTER_CONNECTIONS", 8);

/** One newsletter: ~50 KB of HTML with `links` links, quoted-printable, with a text part. */
export function newsletter(i: number, links = 100): string {
  const para = (n: number) =>
    `<tr><td style="padding:8px;font-family:Arial,sans-serif"><a href="https://shop.example.com/products/item-${n}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring&amp;n=${i}">Product ${n}</a> — ${"Fresh spring styles, now with free delivery on every order. ".repeat(6)}</td></tr>\n`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Spring</title></head><body><table width="600">\n${Array.from({ length: links }, (_, n) => para(n)).join("")}</table></body></html>\n`;
  return [
    "From: Shop <news@sender.example>",
    `To: <reader${i}@sink.test>`,
    "Subject: Spring sale",
    "Date: Mon, 07 Dec 2026 10:00:00 +0000",
    `Message-ID: <bench-${i}-${Date.now()}@sender.example>`,
    "X-Hookd-Track: opens, clicks, unsubscribe",
    "X-Hookd-Campaign: spring-bench",
    "MIME-Version: 1.0",
    'Content-Type: multipart/alternative; boundary="b-alt"',
    "",
    "--b-alt",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Spring sale: https://shop.example.com/",
    "--b-alt",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    qpWrap(qpEncode(Buffer.from(html)), 76).replace(/\r?\n/g, "\r\n"),
    "--b-alt--",
    "",
  ].join("\r\n");
}

/** Sends `messages` over one SMTP connection, one transaction after another. */
async function sendOver(port: number, messages: { to: string; raw: string }[]): Promise<void> {
  const sock = net.connect(port, "127.0.0.1");
  let buf = "";
  let wake: (() => void) | null = null;
  let closed: Error | null = null;
  sock.on("data", (c: Buffer) => {
    buf += c.toString("latin1");
    wake?.();
  });
  sock.on("error", (e) => (closed = e));
  sock.on("close", () => {
    closed ??= new Error("closed");
    wake?.();
  });
  const reply = async (): Promise<number> => {
    for (;;) {
      const m = /^(\d{3}) .*\r\n/m.exec(buf);
      if (m) {
        buf = buf.slice(m.index + m[0].length);
        return Number(m[1]);
      }
      if (closed) throw closed;
      await new Promise<void>((r) => (wake = r));
    }
  };
  const cmd = async (line: string, want: number) => {
    sock.write(line + "\r\n");
    const code = await reply();
    if (code !== want) throw new Error(`SMTP: ${line.slice(0, 30)} answered ${code}`);
  };
  if ((await reply()) !== 220) throw new Error("SMTP: no greeting");
  await cmd("EHLO bench.example", 250);
  for (const m of messages) {
    await cmd("MAIL FROM:<news@sender.example>", 250);
    await cmd(`RCPT TO:<${m.to}>`, 250);
    await cmd("DATA", 354);
    await cmd(`${m.raw.replace(/^\./gm, "..")}.`, 250);
  }
  sock.write("QUIT\r\n");
  sock.end();
}

async function histogram(url: string): Promise<{ sum: number; count: number; buckets: [number, number][] }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const buckets = [...text.matchAll(/^hookd_milter_message_duration_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map(
    (m) => [m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2])] as [number, number],
  );
  return {
    sum: num(/^hookd_milter_message_duration_seconds_sum(?:\{\})? (\S+)$/m),
    count: num(/^hookd_milter_message_duration_seconds_count(?:\{\})? (\S+)$/m),
    buckets,
  };
}

/** The bucket bound under which a fraction `p` of the observations between two readings fall. */
function bucketQuantile(a: [number, number][], b: [number, number][], p: number): number {
  const total = (b.at(-1)?.[1] ?? 0) - (a.at(-1)?.[1] ?? 0);
  for (const [i, [le, n]] of b.entries()) if (n - (a[i]?.[1] ?? 0) >= p * total) return le;
  return Infinity;
}

/** trackMail alone, in this process: MIME split and join, HTMLRewriter, HMACs; the row store is a counter. */
async function handlerAlone(n: number): Promise<{ p50: number; p99: number }> {
  const keyring = newKeyring();
  let ref = 0;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = splitMessage(Buffer.from(newsletter(i)))!;
    const t0 = performance.now();
    const r = await trackMail(
      { ...m, queueId: `4BENCH${i}`, mailFrom: "news@sender.example", rcptTo: [`reader${i}@sink.test`] },
      {
        mode: "header",
        settings: { baseUrl: "https://t.example.com", opens: true, clicks: true, unsubscribe: true },
        host: "mx1",
        verpDomain: "bounces.example.com",
        keyring,
        storeRow: () => ++ref,
        now: Date.now(),
        limits: { maxBytes: 10_000_000, timeoutMs: 10_000 },
      },
    );
    times.push(performance.now() - t0);
    if (r.outcome !== "tracked") throw new Error(`bench message not tracked: ${JSON.stringify(r)}`);
  }
  const warm = times.slice(10).sort((a, b) => a - b); // the first ones pay for JIT warm-up
  return { p50: percentile(warm, 50), p99: percentile(warm, 99) };
}

export async function milterFigures(rows: Row[]): Promise<void> {
  const total = envNum("BENCH_MILTER_MESSAGES", 1000);
  const rounds = envNum("BENCH_MILTER_ROUNDS", 3);
  const alone = await handlerAlone(200);

  const sink = await startSmtpSink({ maxSize: 50_000_000 });
  const pf = await startPostfix({
    sink,
    mainCf: ["milter_protocol = 6", "milter_default_action = accept", "default_destination_concurrency_limit = 50"],
  });
  const dir = tmp();
  // BENCH_MILTER_UNIX=1: a unix socket instead of TCP on loopback.
  const unix = process.env.BENCH_MILTER_UNIX === "1";
  const milter = unix ? `unix:${path.join(dir, "milter.sock")}` : `127.0.0.1:${freePort()}`;
  const hookd = await spawnHookd({
    dir,
    label: "milter",
    toml: [
      `[storage]`,
      `path = "${path.join(dir, "hookd.db")}"`,
      "[tracking]",
      'base_url = "https://t.example.com"',
      "[milter]",
      `listen = "${milter}"`,
      'track = "header"',
      "",
    ].join("\n"),
  });
  try {
    if (unix) {
      // As the README says: the socket's group is postfix's (smtpd runs as postfix).
      chmodSync(dir, 0o755);
      chownSync(milter.slice(5), 0, passwdId("postfix").gid);
    }
    const withMilter: number[] = [];
    const without: number[] = [];
    const perMessage: { mean: number; p50: number; p99: number; cpu: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const on of [false, true]) {
        await pf.postconf({ smtpd_milters: on ? (unix ? milter : `inet:${milter}`) : "" });
        (sink.messages as unknown[]).length = 0;
        const msgs = Array.from({ length: total }, (_, i) => ({ to: `reader${i}@sink.test`, raw: newsletter(i) }));
        const before = on ? await histogram(hookd.url) : null;
        const cpu0 = cpuSeconds(hookd.pid);
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: CONNECTIONS }, (_, c) =>
            sendOver(
              pf.smtpPort,
              msgs.filter((_, i) => i % CONNECTIONS === c),
            ),
          ),
        );
        const arrived = await waitUntil(() => sink.messages.length >= total, 300_000, 10);
        if (!arrived) throw new Error(`only ${sink.messages.length} of ${total} messages reached the sink`);
        const rate = total / ((performance.now() - t0) / 1000);
        (on ? withMilter : without).push(rate);
        if (on && before) {
          const after = await waitUntil(async () => (await histogram(hookd.url)).count - before.count >= total, 5_000, 100).then(() =>
            histogram(hookd.url),
          );
          const tracked = sink.messages.filter((m) => m.data.includes("List-Unsubscribe-Post")).length;
          if (tracked !== total) {
            const metrics = (await (await fetch(`${hookd.url}/metrics`)).text()).split("\n").filter((l) => l.startsWith("hookd_milter"));
            throw new Error(
              `${tracked} of ${total} messages arrived tracked\n${metrics.join("\n")}\n${sink.messages[0]?.data.slice(0, 1500)}\n${pf.log
                .lines()
                .filter((l) => /milter/i.test(l))
                .slice(-5)
                .join("\n")}\n${pf.log.tail(3)}\n${hookd.stderr().slice(-2000)}`,
            );
          }
          perMessage.push({
            mean: ((after.sum - before.sum) / (after.count - before.count)) * 1000,
            p50: bucketQuantile(before.buckets, after.buckets, 0.5) * 1000,
            p99: bucketQuantile(before.buckets, after.buckets, 0.99) * 1000,
            cpu: ((cpuSeconds(hookd.pid) - cpu0) / total) * 1000,
          });
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    rows.push({
      figure: `milter: Postfix + hookd's milter, ${fmtN(total)} × 50 KB HTML, 100 links, tracked`,
      baseline: "same Postfix, no milter",
      baselineValue: median(without),
      value: median(withMilter),
      unit: "msgs/s",
      higherIsBetter: true,
      target: "≥ 0.8×",
    });
    rows.push({
      figure: "milter: its own time per message under that load (mean)",
      baseline: "the tracking work alone, in-process (p50)",
      baselineValue: alone.p50,
      value: median(perMessage.map((p) => p.mean)),
      unit: "ms",
      higherIsBetter: false,
    });
    const spread = (xs: number[]) => xs.map((x) => fmtN(x)).join(", ");
    note(
      "milter",
      `rounds (median shown): with the milter ${spread(withMilter)} msgs/s; without ${spread(without)} msgs/s; ratios ${withMilter.map((w, i) => (w / without[i]!).toFixed(2)).join(", ")}`,
    );
    for (const [i, p] of perMessage.entries())
      note(
        "milter",
        `round ${i + 1}: milter time per message mean ${p.mean.toFixed(2)} ms, p50 ≤ ${p.p50} ms, p99 ≤ ${p.p99} ms (histogram buckets); hookd CPU ${p.cpu.toFixed(2)} ms per message`,
      );
    note(
      "milter",
      `the tracking work alone (trackMail on one 50 KB newsletter, no store, this process): p50 ${alone.p50.toFixed(2)} ms, p99 ${alone.p99.toFixed(2)} ms`,
    );
    note(
      "milter",
      `command: bun bench/run.ts milter (BENCH_MILTER_MESSAGES=${total}, BENCH_MILTER_ROUNDS=${rounds}); ${CONNECTIONS} SMTP connections, Postfix ${pf.version}, relay to a loopback SMTP sink`,
    );
  } finally {
    await stopProcess(hookd.proc);
    await pf.stop();
    await sink.stop();
    rm(dir);
  }
}
