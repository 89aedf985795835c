// 2,000 seeded mutations of the fixtures (truncated, bytes flipped, lines dropped, doubled
// or swapped for boundary lines, charsets and encodings changed). For every one: no throw,
// a typed outcome, split/join is still the identity, and a changed message differs from its
// input only in text/html parts.
import { expect, test } from "bun:test";
import { joinChunks, reproduces, splitChunks } from "../../src/mail/mime.ts";
import { UNCHANGED_REASONS, rewriteHtmlParts } from "../../src/mail/parts.ts";
import { splitMessage } from "../../src/mail/headers.ts";
import { applied, crlf, fixture, fixtureNames, pieces } from "./helpers.ts";

const RUNS = 2000;

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const INSERTS = [
  "--",
  "=",
  "=\r\n",
  "\r",
  "\n",
  "\r\n\r\n",
  "--b22--\r\n",
  "Content-Type: text/html\r\n",
  "charset=x-unknown",
  "=ZZ",
  "\0",
  "\xff\xfe",
];

function mutate(raw: Buffer, r: (n: number) => number): Buffer {
  const s = raw.toString("latin1");
  const lines = s.split("\n");
  const boundaries = [...s.matchAll(/boundary="?([^";\r\n]+)/gi)].map((m) => m[1]!);
  const at = r(Math.max(1, s.length));
  switch (r(9)) {
    case 0:
      return raw.subarray(0, at);
    case 1: {
      const out = Buffer.from(raw);
      for (let i = 0, n = 1 + r(8); i < n && out.length > 0; i++) out[r(out.length)] = r(256);
      return out;
    }
    case 2:
      lines.splice(r(lines.length), 1);
      return Buffer.from(lines.join("\n"), "latin1");
    case 3: {
      const i = r(lines.length);
      lines.splice(i, 0, lines[i]!);
      return Buffer.from(lines.join("\n"), "latin1");
    }
    case 4: {
      const b = boundaries[r(Math.max(1, boundaries.length))] ?? "x";
      lines.splice(r(lines.length), 0, r(2) ? `--${b}\r` : `--${b}--\r`);
      return Buffer.from(lines.join("\n"), "latin1");
    }
    case 5:
      return Buffer.from(s.slice(0, at) + INSERTS[r(INSERTS.length)] + s.slice(at), "latin1");
    case 6:
      return Buffer.from(
        s.replace(/charset="?[\w-]+"?/i, ["charset=utf-16", "charset=iso-2022-jp", "charset=koi8-r", 'charset=""', "charset=ascii"][r(5)]!),
        "latin1",
      );
    case 7:
      return Buffer.from(
        s.replace(
          /Content-Transfer-Encoding: *[\w-]+/i,
          `Content-Transfer-Encoding: ${["base64", "quoted-printable", "7bit", "8bit", "binary"][r(5)]}`,
        ),
        "latin1",
      );
    default:
      return Buffer.from(s.replace(/multipart\/(alternative|mixed|related)/i, "text/html"), "latin1");
  }
}

test(`${RUNS} mutated messages: never a throw, always a typed outcome, only HTML parts change`, async () => {
  const names = fixtureNames();
  const r = rng(20260301);
  const counts = new Map<string, number>();
  let notIdentity = 0;
  for (let run = 0; run < RUNS; run++) {
    const name = names[r(names.length)]!;
    const original = r(2) ? crlf(fixture(name)) : fixture(name);
    let raw = mutate(original, r);
    if (r(3) === 0) raw = mutate(raw, r);
    // cut before its empty line, the message is all header (as the milter would see it)
    const m = splitMessage(raw) ?? { header: Buffer.concat([raw, Buffer.from("\r\n\r\n")]), body: Buffer.alloc(0) };
    const context = `run ${run} (${name})`;
    const chunks = await splitChunks(m.header, m.body, new AbortController().signal).catch(() => null);
    const identity = chunks !== null && (await joinChunks(chunks)).equals(Buffer.concat([m.header, m.body]));
    if (chunks) expect({ context, check: reproduces(chunks, m.header, m.body) }).toEqual({ context, check: identity });
    if (!identity) notIdentity++;

    const outcome = await rewriteHtmlParts(m, (html) => `${html}<img src="https://t.example/o/${run}">`, {
      maxBytes: 1e8,
      timeoutMs: 10_000,
    });
    // where mailsplit cannot give the input back, the message must go out untouched
    if (!identity) expect({ context, changed: outcome.changed }).toEqual({ context, changed: false });
    const key = outcome.changed ? "changed" : outcome.reason;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!outcome.changed) {
      expect(UNCHANGED_REASONS).toContain(outcome.reason);
      continue;
    }
    const input = Buffer.concat([m.header, m.body]);
    const before = await pieces(input);
    const after = await pieces(applied(input, outcome));
    expect({ context, kinds: after.map((p) => p.kind) }).toEqual({ context, kinds: before.map((p) => p.kind) });
    for (const [i, b] of before.entries()) {
      const a = after[i]!;
      // (a rewritten empty part gains the line break its header's empty line stood in for,
      // which then counts to the delimiter after it)
      const delimiter = (v: Buffer) => v.toString("latin1").replace(/^\r?\n/, "");
      if (a.kind === "data" && b.kind === "data")
        expect({ context, data: delimiter(a.value) }).toEqual({ context, data: delimiter(b.value) });
      else if (a.kind === "node" && b.kind === "node" && !(a.header.equals(b.header) && a.body.equals(b.body))) {
        expect({ context, type: b.node.contentType }).toEqual({ context, type: "text/html" });
      }
    }
  }
  console.log(
    `fuzz outcomes over ${RUNS} runs:`,
    Object.fromEntries([...counts].sort((x, y) => y[1] - x[1])),
    `split/join not the identity: ${notIdentity}`,
  );
  expect(counts.get("changed") ?? 0).toBeGreaterThan(RUNS / 10);
}, 120_000);
