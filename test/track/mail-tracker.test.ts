// One message through the mail path's rules (what the milter and `hookd rewrite` both do), on a
// real SQLite store: which messages are tracked, what changes, what stays byte for byte, which
// row is written and what the tokens in the mail name.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import path from "node:path";
import { applyHeaderEdits } from "../../src/mail/header-edits.ts";
import { headerValues, parseHeaderBlock } from "../../src/mail/headers.ts";
import { listUnsubscribeUris } from "../../src/mail/list-unsubscribe.ts";
import { openStore } from "../../src/store/open.ts";
import { trackedMessageData } from "../../src/store/sqlite/tracking.ts";
import { ensureKeyring, keyringSource } from "../../src/track/keystore.ts";
import { createMailTokenVerifier } from "../../src/track/mail-token-verifier.ts";
import { trackMail, type MailInput, type MailOutcome, type MailTrackOptions } from "../../src/track/mail-tracker.ts";
import { verifyToken, type TokenPayload } from "../../src/track/tokens.ts";
import { tempDir } from "../helpers/hookd.ts";
import { crlf, fixture, pieces, split } from "../mail/helpers.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

const dir = tempDir();
const store = openStore(path.join(dir, "hookd.db"));
const db = sqliteOf(store);
const keyring = await ensureKeyring(store);
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const BASE = "https://t.example.com";
const NOW = Date.parse("2026-03-01T10:00:00Z");
const SETTINGS = { baseUrl: BASE, opens: true, clicks: true, unsubscribe: true };

function options(o: Partial<MailTrackOptions> = {}): MailTrackOptions {
  return {
    mode: "header",
    settings: SETTINGS,
    host: "mx1",
    verpDomain: "",
    keyring,
    storeRow: async (data) => (await store.tracking.insertMessages([data], NOW))[0]!,
    now: NOW,
    limits: { maxBytes: 10_000_000, timeoutMs: 5_000 },
    ...o,
  };
}

/** A CRLF message: headers (with the control headers given), then a body. */
function message(headers: string[], body: string, contentType = "text/html; charset=utf-8"): Buffer {
  const head = [
    "From: App <app@sender.example>",
    "To: alice@example.org",
    "Subject: Sale",
    "Message-ID: <m1@sender.example>",
    ...headers,
    "MIME-Version: 1.0",
    `Content-Type: ${contentType}`,
  ];
  return Buffer.from(`${head.join("\r\n")}\r\n\r\n${body}`);
}

const HTML = '<html><body><p>Hi</p><a href="https://shop.example/sale">Sale</a></body></html>\r\n';

function input(raw: Buffer, over: Partial<MailInput> = {}): MailInput {
  return { ...split(raw), queueId: "4BCD21C03F2", mailFrom: "app@sender.example", rcptTo: ["alice@example.org"], ...over };
}

/** The message after the edits, as the recipient gets it. */
function delivered(raw: Buffer, r: MailOutcome): Buffer {
  if (r.outcome === "unchanged" || !r.edits) return raw;
  const { header, body } = split(raw);
  return Buffer.concat([applyHeaderEdits(header, r.edits.headers), r.edits.body ?? body]);
}

const tokenIn = (url: string, prefix: string) => {
  expect(url.startsWith(`${BASE}/${prefix}/`)).toBe(true);
  return verifyToken(url.slice(BASE.length + 3), keyring, Math.floor(NOW / 1000)) as TokenPayload;
};
const pixelOf = (text: string) => /<img src="([^"]+\/o\/[^"]+)"/.exec(text)?.[1];
const rows = () => (db.query("SELECT count(*) AS n FROM tracked_messages").get() as { n: number }).n;

describe("which messages are tracked", () => {
  test('track = "header": an unmarked message is left alone, no row written', async () => {
    const before = rows();
    const r = await trackMail(input(message([], HTML)), options());
    expect(r).toEqual({ outcome: "untracked", reason: "not_marked", edits: null });
    expect(rows()).toBe(before);
  });

  test('track = "off": even a marked message and its control headers pass untouched', async () => {
    const r = await trackMail(input(message(["X-Hookd-Track: all"], HTML)), options({ mode: "off" }));
    expect(r).toEqual({ outcome: "untracked", reason: "off", edits: null });
  });

  test("a control header that cannot be read: removed, and the message is not tracked", async () => {
    const raw = message(["X-Hookd-Track: all", 'X-MSYS-API: {"options": '], HTML);
    const r = await trackMail(input(raw), options());
    expect(r).toMatchObject({ outcome: "untracked", reason: "control_unreadable" });
    const out = delivered(raw, r).toString();
    expect(out).not.toMatch(/X-Hookd-Track|X-MSYS-API/);
    expect(out.endsWith(`\r\n\r\n${HTML}`)).toBe(true);
  });

  test('track = "all": an HTML message without marks is tracked; a text-only one passes byte for byte', async () => {
    const html = await trackMail(input(message([], HTML)), options({ mode: "all" }));
    expect(html).toMatchObject({ outcome: "tracked", reason: "rewritten", links: 1, pixel: true });
    const text = fixture("text-only.eml");
    const r = await trackMail(input(crlf(text)), options({ mode: "all" }));
    expect(r).toMatchObject({ outcome: "untracked", reason: "no_html", edits: null });
  });

  test("aspects the application turns off stay off (SparkPost's open_tracking:false)", async () => {
    const raw = message(['X-MSYS-API: {"options":{"open_tracking":false,"click_tracking":true}}'], HTML);
    const r = await trackMail(input(raw), options());
    const out = delivered(raw, r).toString();
    expect(pixelOf(out)).toBeUndefined();
    expect(out).toContain(`href="${BASE}/c/`);
  });
});

describe("a tracked message", () => {
  test("links and pixel rewritten, List-Unsubscribe added, control headers gone; the tokens name queue id, Message-ID, host and the one recipient", async () => {
    const raw = message(["X-Hookd-Track: opens, clicks, unsubscribe"], HTML);
    const r = await trackMail(input(raw), options());
    expect(r).toMatchObject({ outcome: "tracked", reason: "rewritten", links: 1, pixel: true });
    const out = delivered(raw, r);
    const fields = parseHeaderBlock(split(out).header);
    expect(headerValues(fields, "X-Hookd-Track")).toEqual([]);
    expect(headerValues(fields, "List-Unsubscribe-Post")).toEqual(["List-Unsubscribe=One-Click"]);
    const [unsub] = listUnsubscribeUris(headerValues(fields, "List-Unsubscribe")[0]!);
    const p = tokenIn(pixelOf(out.toString())!, "o");
    expect(p).toEqual({
      kind: "open",
      issuedAt: NOW / 1000,
      host: "mx1",
      queueId: "4BCD21C03F2",
      messageId: "m1@sender.example",
      rcpt: "alice@example.org",
    });
    expect(tokenIn(unsub!, "u")).toMatchObject({ kind: "unsubscribe", rcpt: "alice@example.org", queueId: "4BCD21C03F2" });
    // Every header line but the control header and the new ones as it was.
    expect(split(out).header.toString()).toBe(
      split(raw).header.toString().replace("X-Hookd-Track: opens, clicks, unsubscribe\r\n", "").replace(/\r\n$/, "") +
        `List-Unsubscribe: <${unsub}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n`,
    );
  });

  test("several recipients: the links name the message only (no rcpt), one set for all", async () => {
    const raw = message(["X-Hookd-Track: opens"], HTML);
    const r = await trackMail(input(raw, { rcptTo: ["alice@example.org", "bob@example.org"] }), options());
    const p = tokenIn(pixelOf(delivered(raw, r).toString())!, "o");
    expect(p.rcpt).toBeUndefined();
    expect(p.queueId).toBe("4BCD21C03F2");
  });

  test("campaign data goes into one row the tokens' ref names; a message without any writes no row", async () => {
    const before = rows();
    const raw = message(
      ["X-Hookd-Track: opens", "X-Hookd-Campaign: spring", "X-Hookd-Tags: eu, vip", 'X-Hookd-Metadata: {"customer": "42"}'],
      HTML,
    );
    const r = await trackMail(input(raw), options());
    const p = tokenIn(pixelOf(delivered(raw, r).toString())!, "o");
    expect(rows()).toBe(before + 1);
    expect(JSON.parse(trackedMessageData(db, p.ref!)!)).toEqual({
      campaign_id: "spring",
      tags: ["eu", "vip"],
      metadata: { customer: "42" },
    });
    await trackMail(input(message(["X-Hookd-Track: opens"], HTML)), options());
    expect(rows()).toBe(before + 1);
  });

  test("attachments and every other part come out byte for byte", async () => {
    const raw = crlf(fixture("mixed-attachments.eml"));
    const marked = Buffer.concat([Buffer.from("X-Hookd-Track: opens, clicks\r\n"), raw]);
    const r = await trackMail(input(marked), options());
    expect(r).toMatchObject({ outcome: "tracked", reason: "rewritten" });
    const before = await pieces(raw);
    const after = await pieces(delivered(marked, r));
    expect(after.length).toBe(before.length);
    let html = 0;
    for (const [i, a] of after.entries()) {
      const b = before[i]!;
      if (a.kind === "node" && a.node.contentType === "text/html") {
        html++;
        expect(a.body.equals((b as typeof a).body)).toBe(false);
        continue;
      }
      if (a.kind === "node" && i > 0)
        expect([a.header.equals((b as typeof a).header), a.body.equals((b as typeof a).body)]).toEqual([true, true]);
      if (a.kind === "data") expect(a.value.equals((b as typeof a).value)).toBe(true);
    }
    expect(html).toBe(1);
  });

  test("a marked text-only message still gets List-Unsubscribe; nothing else changes", async () => {
    const raw = message(["X-Hookd-Track: unsubscribe"], "plain text\r\n", "text/plain");
    const r = await trackMail(input(raw), options());
    expect(r).toMatchObject({ outcome: "tracked", reason: "headers_only" });
    if (r.outcome !== "tracked") return;
    expect(r.edits.body).toBeUndefined();
    expect(r.edits.headers.map((h) => `${h.op} ${h.name}`)).toEqual([
      "delete X-Hookd-Track",
      "add List-Unsubscribe",
      "add List-Unsubscribe-Post",
    ]);
  });
});

describe("VERP and the unsubscribe address ([feedback] verp)", () => {
  test("the envelope sender becomes bounces+<token>@<verp>; both tokens verify to the row with the message, its recipient and campaign", async () => {
    const raw = message(["X-Hookd-Track: opens, unsubscribe", "X-Hookd-Campaign: spring"], HTML);
    const r = await trackMail(input(raw), options({ verpDomain: "bounces.example.com" }));
    if (r.outcome !== "tracked") throw new Error(`not tracked: ${JSON.stringify(r)}`);
    const verp = /^bounces\+([a-z2-7]+)@bounces\.example\.com$/.exec(r.edits.mailFrom!)?.[1];
    expect(verp).toBeDefined();
    const uris = listUnsubscribeUris(headerValues(parseHeaderBlock(split(delivered(raw, r)).header), "List-Unsubscribe")[0]!);
    const mailto = /^mailto:unsubscribe\+([a-z2-7]+)@bounces\.example\.com$/.exec(uris[1]!)?.[1];
    expect(mailto).toBeDefined();
    const verifier = createMailTokenVerifier(store, keyringSource(store), () => NOW);
    const original = {
      host: "mx1",
      queue_id: "4BCD21C03F2",
      message_id: "m1@sender.example",
      rcpt_to: "alice@example.org",
      mail_from: "app@sender.example",
      campaign_id: "spring",
    };
    expect(await verifier.verifyVerpToken(verp!.toUpperCase())).toEqual(original);
    expect(await verifier.verifyUnsubscribeToken(mailto!)).toEqual(original);
    expect(await verifier.verifyVerpToken(mailto!)).toBeNull();
  });

  test("the null sender stays null: a bounce is never given a VERP address", async () => {
    const r = await trackMail(
      input(message(["X-Hookd-Track: opens"], HTML), { mailFrom: "" }),
      options({ verpDomain: "bounces.example.com" }),
    );
    expect(r.outcome).toBe("tracked");
    expect(r.outcome === "tracked" && "mailFrom" in r.edits).toBe(false);
  });
});

describe("never break mail: anything unexpected leaves the message exactly as it came", () => {
  for (const [name, reason] of [
    ["malformed-missing-close.eml", "malformed_mime"],
    ["malformed-unknown-charset.eml", "unknown_charset"],
    ["dkim-signed.eml", "dkim_signed"],
  ] as const) {
    test(`${name}: unchanged (${reason}), control headers included`, async () => {
      const raw = Buffer.concat([Buffer.from("X-Hookd-Track: all\r\n"), crlf(fixture(name))]);
      const r = await trackMail(input(raw), options());
      expect(r).toMatchObject({ outcome: "unchanged", reason });
    });
  }

  test("over the size limit: unchanged (too_large)", async () => {
    const raw = message(["X-Hookd-Track: all"], HTML);
    expect(await trackMail(input(raw), options({ limits: { maxBytes: 100, timeoutMs: 5_000 } }))).toMatchObject({
      outcome: "unchanged",
      reason: "too_large",
    });
  });

  test("a store that refuses the row: unchanged (store_failed)", async () => {
    const raw = message(["X-Hookd-Track: all", "X-Hookd-Campaign: spring"], HTML);
    const failing = options({ storeRow: () => Promise.reject(new Error("SQLITE_FULL: database or disk is full")) });
    expect(await trackMail(input(raw), failing)).toMatchObject({
      outcome: "unchanged",
      reason: "store_failed",
      detail: "SQLITE_FULL: database or disk is full",
    });
    const text = message(["X-Hookd-Track: unsubscribe", "X-Hookd-Campaign: spring"], "text\r\n", "text/plain");
    expect(await trackMail(input(text), failing)).toMatchObject({ outcome: "unchanged", reason: "store_failed" });
  });

  test("no base_url: unchanged (not_configured)", async () => {
    const r = await trackMail(input(message(["X-Hookd-Track: all"], HTML)), options({ settings: { ...SETTINGS, baseUrl: "" } }));
    expect(r).toMatchObject({ outcome: "unchanged", reason: "not_configured" });
  });
});
