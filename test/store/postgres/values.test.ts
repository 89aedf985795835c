import { describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import type { Event } from "../../../src/events/schema.ts";
import { eventRows } from "../../../src/store/event-rows.ts";
import { lookupKey } from "../../../src/store/lookup-key.ts";
import { int8, int8Big, int8OrNull, noNul } from "../../../src/store/postgres/values.ts";
import { usePostgres } from "../../helpers/pg.ts";

// What goes into PostgreSQL's columns comes back as the store wrote it: bodies byte for byte,
// JSON columns with their key order, 64-bit integers exactly.

const pg = usePostgres();

// Text that breaks naive handling: every JSON-escaped control character (NUL among them), DEL
// (not escaped by JSON), line and paragraph separators, a BOM, a non-character, an astral
// emoji and a ZWJ sequence, combining marks, right-to-left override, a lone surrogate,
// backslashes and quotes, CJK and Arabic.
const ODD = [
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  "\u007f",
  "\u2028\u2029",
  "\uFEFF",
  "\uFFFE\uFFFF",
  "😀👩‍👩‍👧",
  "e\u0301 n\u0303",
  "\u202Eevil",
  "\uD800",
  '\\"quoted\\"',
  "日本語 ﷺ",
].join("|");

async function insertEvent(
  sql: SQL,
  event: Record<string, unknown>,
): Promise<{ body: string; stored: string; bytes: Buffer; octets: number }> {
  const rows = eventRows([event as unknown as Event]);
  const body = rows.bodies[0]!;
  const c = rows.cols;
  const [row] = await sql`
    INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, notice, source, body, received_at)
    VALUES (${c[0]}, ${c[1]}, ${c[2]}, ${noNul(c[3] as string)}, ${c[4]}, ${c[5]}, ${c[6]}, ${c[7]}, ${c[8]}, ${c[9]}, 'api', ${body}, ${Date.now()})
    RETURNING body AS stored, convert_to(body, 'UTF8') AS bytes, octet_length(body) AS octets`;
  const r = row as { stored: string; bytes: Buffer; octets: number };
  return { body, ...r };
}

const event = (host: string) => ({
  event_id: "evt_01",
  type: "delivered",
  timestamp: "2026-12-06T10:00:00.000Z",
  host,
  queue_id: "4F1A2B",
  rcpt_to: "user@example.com",
  custom: { note: ODD },
});

describe("event bodies", () => {
  test("JSON text never holds a raw NUL: the serializer escapes every control character", () => {
    const body = eventRows([event(ODD) as unknown as Event]).bodies[0]!;
    expect(body.includes("\u0000")).toBe(false);
    expect(body).toContain("\\u0000");
    expect(JSON.parse(body).custom.note).toBe(ODD);
  });

  test("a body with odd Unicode comes back byte for byte", async () => {
    const { sql } = await pg.database({ migrated: true });
    const { body, stored, bytes, octets } = await insertEvent(sql, event("mx1"));
    expect(stored).toBe(body);
    expect(Buffer.compare(bytes, Buffer.from(body, "utf8"))).toBe(0);
    expect(octets).toBe(Buffer.byteLength(body, "utf8"));
  });

  test("a raw NUL, which the columns beside the body can carry, is refused by text; noNul() makes it storable", async () => {
    const { sql } = await pg.database({ migrated: true });
    const err = await sql`SELECT ${"mx\u00001"}::text AS v`.catch((e: unknown) => e);
    expect((err as { errno?: string }).errno).toBe("22021"); // character_not_in_repertoire
    const { stored, body } = await insertEvent(sql, event("mx\u00001"));
    expect(stored).toBe(body);
    const [row] = await sql`SELECT host FROM events`;
    expect((row as { host: string }).host).toBe("mx\uFFFD1");
    expect(noNul(null)).toBeNull();
    expect(noNul("plain")).toBe("plain");
  });
});

describe("other columns", () => {
  test("bytea keeps every byte value", async () => {
    const { sql } = await pg.database({ migrated: true });
    const all = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    const [row] =
      await sql`INSERT INTO batch_bodies (body, refs, digest) VALUES (${all}, 1, ${new Uint8Array([0, 255])}) RETURNING body, digest`;
    const r = row as { body: Buffer; digest: Buffer };
    expect(Buffer.compare(r.body, all)).toBe(0);
    expect([...r.digest]).toEqual([0, 255]);
  });

  test("JSON columns read back as the values bound, key order kept; a JSON-encoded string is refused", async () => {
    const { sql } = await pg.database({ migrated: true });
    const headers = { "X-Zeta": "1", "X-Alpha": "2", "x-mid": ODD };
    await sql`INSERT INTO webhooks (id, name, target, events, custom_headers, secret, created_at, updated_at)
              VALUES ('w1', 'w', 'https://example.com/', ${["delivered", "custom:profile.created"]}, ${headers}, 's', 0, 0)`;
    const [row] = await sql`SELECT events, custom_headers, active, ecdsa_signed, auth_credentials FROM webhooks`;
    const r = row as Record<string, unknown>;
    expect(r).toEqual({
      events: ["delivered", "custom:profile.created"],
      custom_headers: headers,
      active: true,
      ecdsa_signed: true,
      auth_credentials: null,
    });
    expect(Object.keys(r.custom_headers as object)).toEqual(["X-Zeta", "X-Alpha", "x-mid"]);
    // The mistake Bun invites: binding JSON.stringify(value) stores a JSON string, not the value.
    const err = await sql`UPDATE webhooks SET custom_headers = ${JSON.stringify(headers)}`.catch((e: unknown) => e);
    expect((err as { errno?: string }).errno).toBe("23514"); // check_violation
    const bad = await sql`UPDATE webhooks SET events = ${JSON.stringify(["delivered"])}`.catch((e: unknown) => e);
    expect((bad as { errno?: string }).errno).toBe("23514");
  });

  test("int8 comes back as a string; int8() makes ms times and seqs numbers, int8Big a 64-bit hash a BigInt", async () => {
    const { sql } = await pg.database({ migrated: true });
    const ts = Date.UTC(2026, 11, 6); // > 2^31
    const h = lookupKey("message_id", "<a@example.com>");
    await sql`INSERT INTO message_lookup (h, seq) VALUES (${h}, ${2 ** 40}), (${-(2n ** 63n)}, 1)`;
    await sql`INSERT INTO domains (domain, token, created_at) VALUES ('example.com', 't', ${ts})`;
    const [d] = await sql`SELECT created_at, verified_at, (SELECT count(*) FROM domains) AS n FROM domains`;
    const dr = d as { created_at: unknown; verified_at: unknown; n: unknown };
    expect(typeof dr.created_at).toBe("string");
    expect(int8(dr.created_at, "domains.created_at")).toBe(ts);
    expect(int8OrNull(dr.verified_at, "domains.verified_at")).toBeNull();
    expect(int8(dr.n, "count")).toBe(1);
    const rows = (await sql`SELECT h, seq FROM message_lookup ORDER BY seq DESC`) as { h: unknown; seq: unknown }[];
    expect(rows.map((r) => [int8Big(r.h, "h"), int8(r.seq, "seq")])).toEqual([
      [h, 2 ** 40],
      [-(2n ** 63n), 1],
    ]);
    expect(() => int8("9007199254740993", "events.seq")).toThrow("events.seq: expected an integer within ±2^53 from PostgreSQL");
    expect(() => int8("12x", "x")).toThrow();
    expect(() => int8Big("1.5", "h")).toThrow("h: expected a 64-bit integer");
  });

  test("seq and ids come from their sequences only", async () => {
    const { sql } = await pg.database({ migrated: true });
    const err =
      await sql`INSERT INTO events (seq, event_id, type, ts, host, source, body, received_at) VALUES (5, 'e', 't', 0, 'h', 's', '{}', 0)`.catch(
        (e: unknown) => e,
      );
    expect((err as { errno?: string }).errno).toBe("428C9"); // generated_always
    const [a] = await sql`INSERT INTO tracked_messages (created_at, data) VALUES (0, '{}') RETURNING id`;
    const [b] = await sql`INSERT INTO tracked_messages (created_at, data) VALUES (0, '{}') RETURNING id`;
    await sql`DELETE FROM tracked_messages`;
    const [c] = await sql`INSERT INTO tracked_messages (created_at, data) VALUES (0, '{}') RETURNING id`;
    const ids = [a, b, c].map((r) => int8((r as { id: unknown }).id, "id"));
    expect(ids).toEqual([1, 2, 3]); // never handed out again, as SQLite's AUTOINCREMENT
  });

  test("a file identity past 2^63 (dev, ino) comes back as the same number", async () => {
    const { sql } = await pg.database({ migrated: true });
    const ino = 2 ** 63 + 2 ** 12;
    await sql`INSERT INTO source_checkpoints (node, source, dev, ino, fingerprint, "offset", updated_at) VALUES ('n1', '/var/log/mail.log', ${2049}, ${ino}, 'f', 0, 0)`;
    const [row] = await sql`SELECT dev, ino FROM source_checkpoints`;
    expect(row).toEqual({ dev: 2049, ino });
  });
});
