// hookd as a real process beside a real MTA, for the mail-path tests: its config file (the
// MTA's log as a [[sources]] entry, the tracking listener on 127.0.0.1:0 with base_url
// https://t.hookd.test, and [milter] listen when asked), a receiver subscribed to every event,
// and the helpers the tests share: fetch a tracked URL at the listener, wait for events, read
// /metrics, and the MIME parts of a message.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { finished } from "node:stream";
import { Splitter, type MimeNode } from "@zone-eu/mailsplit";
import { encode as qpEncode, wrap as qpWrap } from "libqp";
import { eventually } from "../../helpers/eventually.ts";
import { spawnHookd, tempDir, type SpawnedHookd } from "../../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../../helpers/receiver.ts";

export const BASE = "https://t.hookd.test";

export type MailEvent = Record<string, unknown> & { type: string; event_id: string };

export type HookdForMail = {
  dir: string;
  configPath: string;
  hookd: SpawnedHookd;
  rx: Receiver;
  /** The tracking listener's real origin. */
  listener: string;
  /** "127.0.0.1:PORT" when [milter] listen is on. */
  milter: string | null;
  /** GET a tracked URL (BASE…) at the listener, as a mail client would; no redirects followed. */
  hit(url: string): Promise<Response>;
  events(): MailEvent[];
  waitForEvents(pred: (events: MailEvent[]) => boolean, timeoutMs?: number): Promise<MailEvent[]>;
  metric(name: string, labels: string): Promise<number>;
  /** Resolves once the metric reads `value` (the milter's thread reports once a second). */
  metricReaches(name: string, labels: string, value: number, timeoutMs?: number): Promise<void>;
  /** Starts hookd again with the same config (after a kill), on the same milter port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
};

export type HookdForMailOptions = {
  logPath: string;
  format: "postfix" | "exim";
  /** [milter] listen; absent: no milter. */
  milter?: string;
  /** Extra TOML, appended. */
  toml?: string;
  /** Where the config and store go (the config is `dir`/hookd.toml); default: a new temp dir. */
  dir?: string;
};

function configText(dir: string, o: HookdForMailOptions, milter: string | undefined): string {
  return [
    "[server]",
    'listen = "127.0.0.1:0"',
    "[storage]",
    `path = "${path.join(dir, "store", "hookd.db")}"`,
    "[delivery]",
    'batch_max_wait = "0s"',
    "[tracking]",
    'listen = "127.0.0.1:0"',
    `base_url = "${BASE}"`,
    'fast_click = "0s"',
    "rate_limit = 0",
    ...(milter ? ["[milter]", `listen = "${milter}"`, 'track = "header"'] : []),
    "[[sources]]",
    `path = "${o.logPath}"`,
    `format = "${o.format}"`,
    'start_at = "beginning"',
    'host = "mx1"',
    'rotate_wait = "100ms"',
    o.toml ?? "",
    "",
  ].join("\n");
}

export async function startHookdForMail(o: HookdForMailOptions): Promise<HookdForMail> {
  const dir = o.dir ?? tempDir();
  const configPath = path.join(dir, "hookd.toml");
  writeFileSync(configPath, configText(dir, o, o.milter));
  const rx = await startReceiver();
  let hookd = await spawnHookd({ cwd: dir, args: ["serve", "--config", configPath] });
  const started = () => {
    for (const l of hookd.stdoutLines) {
      try {
        const rec = JSON.parse(l) as { msg?: string; tracking?: string; milter?: string };
        if (rec.msg === "hookd started") return rec;
      } catch {
        // not a log line
      }
    }
    throw new Error("no hookd started line");
  };
  const first = started();
  const milter = first.milter ?? null;
  // The port chosen at start stays hookd's: a restart (after a kill) listens there again.
  if (milter) writeFileSync(configPath, configText(dir, o, milter));
  const key = /hookd_[A-Za-z0-9_-]{30,}/.exec(hookd.stderr())![0];
  const res = await fetch(`${hookd.url}/api/v1/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "mail", target: `${rx.url}/hook`, events: ["*"], verification: "none" }),
  });
  if (res.status !== 201) throw new Error(`creating the webhook: ${res.status} ${await res.text()}`);
  let listener = first.tracking!;
  const events = () => rx.requests.flatMap((r) => r.json() as MailEvent[]);
  const metric = async (name: string, labels: string) => {
    const text = await (await fetch(`${hookd.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  return {
    dir,
    configPath,
    get hookd() {
      return hookd;
    },
    rx,
    get listener() {
      return listener;
    },
    milter,
    hit: (url) => {
      if (!url.startsWith(`${BASE}/`)) throw new Error(`not a tracked URL: ${url}`);
      return fetch(listener + url.slice(BASE.length), {
        redirect: "manual",
        headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" },
      });
    },
    events,
    waitForEvents: (pred, timeoutMs = 15_000) =>
      eventually(
        () =>
          pred(events())
            ? events()
            : Promise.reject(
                new Error(
                  `events so far: ${events()
                    .map((e) => e.type)
                    .join(", ")}`,
                ),
              ),
        { timeoutMs, intervalMs: 50 },
      ),
    metric,
    async metricReaches(name, labels, value, timeoutMs = 5_000) {
      await eventually(
        async () => {
          const v = await metric(name, labels);
          if (v !== value) throw new Error(`${name}{${labels}} is ${v}, not ${value}`);
          return true;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async restart() {
      hookd = await spawnHookd({ cwd: dir, args: ["serve", "--config", configPath] });
      listener = started().tracking!;
    },
    async stop() {
      await hookd.stop();
      await rx.stop();
    },
  };
}

/** The received message without the Received: header the MTA put on top (milters never see it). */
export function withoutReceived(data: string): string {
  return data.replace(/^Received: .*\r\n(?:[ \t].*\r\n)*/, "");
}

/** What the sink stores (latin1, one char a byte) for text that was sent as UTF-8. */
export const asSunk = (text: string) => Buffer.from(text, "utf8").toString("latin1");

export type Part = { contentType: string; disposition: string; header: Buffer; body: Buffer };

/** A message's leaf parts as mailsplit's Splitter sees them (header block, body bytes). */
export function mimeParts(raw: Buffer): Promise<Part[]> {
  return new Promise((resolve, reject) => {
    const out: { node: MimeNode; body: Buffer[] }[] = [];
    const s = new Splitter({ ignoreEmbedded: true });
    s.on("data", (c) => {
      if (c.type === "node") out.push({ node: c as MimeNode, body: [] });
      else if (c.type === "body") out.find((p) => p.node === c.node)?.body.push(c.value as Buffer);
    });
    finished(s, (err) =>
      err
        ? reject(err)
        : resolve(
            out
              .filter((p) => !p.node.multipart)
              .map((p) => ({
                contentType: p.node.contentType || "",
                disposition: p.node.disposition || "",
                header: p.node.getHeaders(),
                body: Buffer.concat(p.body),
              })),
          ),
    );
    s.end(raw);
  });
}

/** A newsletter with a text part, an HTML part with links, an inline image and a PDF attachment. */
export function newsletter(o: { messageId: string; to: string; headers?: string[]; links?: string[] }): {
  raw: string;
  pdf: Buffer;
  png: Buffer;
} {
  const pdf = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 256));
  const png = Buffer.from(Array.from({ length: 900 }, (_, i) => (i * 104729 + 7) % 256));
  const b64 = (b: Buffer) => b.toString("base64").replace(/.{76}/g, "$&\r\n");
  const links = o.links ?? ["https://shop.example/sale?utm=mail&amp;x=1", "https://shop.example/blog"];
  const html = `<!doctype html><html><body><p>Spring sale</p>${links.map((l, i) => `<a href="${l}">link ${i}</a> `).join("")}<img src="cid:logo@hookd"></body></html>`;
  const raw = [
    "From: Shop <news@sender.hookd.test>",
    `To: <${o.to}>`,
    "Subject: Spring sale",
    "Date: Mon, 07 Dec 2026 10:00:00 +0000",
    `Message-ID: ${o.messageId}`,
    ...(o.headers ?? []),
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="mixed-1"',
    "",
    "--mixed-1",
    'Content-Type: multipart/related; boundary="rel-1"',
    "",
    "--rel-1",
    'Content-Type: multipart/alternative; boundary="alt-1"',
    "",
    "--alt-1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Spring sale: https://shop.example/sale",
    "--alt-1",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    qpWrap(qpEncode(Buffer.from(html)), 76).replace(/\r?\n/g, "\r\n"),
    "--alt-1--",
    "",
    "--rel-1",
    "Content-Type: image/png",
    "Content-ID: <logo@hookd>",
    "Content-Transfer-Encoding: base64",
    "",
    b64(png),
    "--rel-1--",
    "",
    "--mixed-1",
    'Content-Type: application/pdf; name="invoice.pdf"',
    'Content-Disposition: attachment; filename="invoice.pdf"',
    "Content-Transfer-Encoding: base64",
    "",
    b64(pdf),
    "--mixed-1--",
    "",
  ].join("\r\n");
  return { raw, pdf, png };
}
