// How far would an async store reach?   bun bench/pg-spike/async-ripple.ts [--list]
//
// A static estimate (regular expressions and brace matching, not a type checker: expect
// ±20%): which functions outside src/store call the store, directly or through other
// functions, and so would have to await it; of those, which are synchronous today (their
// signature changes, and so do their callers'). Seeds: every src/store function that takes
// a connection (Database, Drizzle or Store), and raw connection use (.transaction(, .query(,
// drizzle builders on store.db).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const SRC = path.resolve(import.meta.dir, "../../src");
const list = process.argv.includes("--list");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? files(p) : d.name.endsWith(".ts") ? [p] : [];
  });
}

type Fn = { name: string; file: string; line: number; async: boolean; start: number; end: number; own: string };

/** The index just past the brace that closes the one at `open`, skipping strings, templates and comments. */
function closeOf(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") i = src.indexOf("\n", i);
    else if (c === "/" && src[i + 1] === "*") i = src.indexOf("*/", i) + 1;
    else if (c === '"' || c === "'" || c === "`") {
      for (i++; i < src.length && src[i] !== c; i++) if (src[i] === "\\") i++;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
    if (i < 0) return src.length;
  }
  return src.length;
}

const DECL = [
  /(?:export\s+)?(async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(/g,
  /(?:const|let)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(async\s+)?(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*(?::[^=]+)?=>\s*\{/g,
  /^\s+(async\s+)?([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*(?::[^{]+)?\{/gm,
  /^\s+([A-Za-z_$][\w$]*)\s*:\s*(async\s+)?\([^)]*\)\s*(?::[^=]+)?=>\s*\{/gm,
];
const KEYWORDS = new Set(["if", "for", "while", "switch", "catch", "return", "function", "constructor", "else", "do", "try"]);

function functionsOf(file: string): Fn[] {
  const src = readFileSync(file, "utf8");
  const found: Omit<Fn, "own">[] = [];
  for (const [k, re] of DECL.entries()) {
    for (const m of src.matchAll(re)) {
      const name = k === 1 || k === 3 ? m[1]! : m[2]!;
      const isAsync = Boolean(k === 1 || k === 3 ? m[2] : m[1]);
      if (KEYWORDS.has(name)) continue;
      const open = src.indexOf("{", m.index! + m[0].length - 1);
      if (open < 0) continue;
      found.push({ name, file, line: src.slice(0, m.index).split("\n").length, async: isAsync, start: open, end: closeOf(src, open) });
    }
  }
  // A function's own text: its body without the functions nested in it (they are counted themselves).
  return found.map((f) => {
    let own = "";
    let at = f.start;
    for (const g of found.filter((g) => g.start > f.start && g.end <= f.end).sort((a, b) => a.start - b.start)) {
      if (g.start < at) continue;
      own += src.slice(at, g.start);
      at = g.end;
    }
    return { ...f, own: own + src.slice(at, f.end) };
  });
}

// Store functions that take a connection are the seeds; pure helpers in store/ are not.
const storeFiles = files(path.join(SRC, "store"));
const seeds = new Set<string>();
for (const f of storeFiles) {
  for (const m of readFileSync(f, "utf8").matchAll(/export\s+function\s+([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(\s*(\w+)\s*:\s*(\w+)/g)) {
    if (["Database", "Drizzle", "Store"].includes(m[3]!)) seeds.add(m[1]!);
  }
}
seeds.add("openStore");
const RAW =
  /\.transaction\(|\b(?:db|sqlite)\.(?:query|prepare|run|exec)\(|\bstore\.db\b|\bdb\.(?:select|insert|update|delete)\(|\.immediate\(/;
// Names too common to follow by name alone (methods of Map, Set, arrays, promises, our own start/stop).
const GENERIC = new Set([
  "get",
  "set",
  "has",
  "add",
  "delete",
  "run",
  "all",
  "start",
  "stop",
  "close",
  "push",
  "take",
  "map",
  "filter",
  "then",
  "catch",
  "finally",
  "apply",
  "status",
  "list",
  "tick",
  "next",
  "reset",
  "feed",
  "send",
  "handle",
  "write",
  "read",
  "poll",
  "record",
  "report",
  "restore",
  "clear",
  "create",
  "update",
  "remove",
  "check",
  "settle",
  "find",
  "events",
  "flush",
  "stats",
  "find",
  "some",
  "every",
  "parse",
  "format",
  "key",
  "note",
]);

const fns = files(SRC)
  .filter((f) => !f.includes(`${path.sep}store${path.sep}`))
  .flatMap(functionsOf);
const marked = new Set<Fn>();
const why = new Map<Fn, string>();
const callRe = (names: Iterable<string>) =>
  new RegExp(`(?<![\\w$.])(?:${[...names].join("|")})\\s*\\(|\\.(?:${[...names].join("|")})\\s*\\(`);
const seedRe = callRe(seeds);
for (const f of fns) {
  const m = f.own.match(seedRe) ?? f.own.match(RAW);
  if (m) marked.add(f), why.set(f, m[0]);
}
for (let changed = true; changed; ) {
  changed = false;
  const names = new Set([...marked].map((f) => f.name).filter((n) => !GENERIC.has(n) && n.length > 3));
  if (!names.size) break;
  const re = callRe(names);
  for (const f of fns) {
    const m = marked.has(f) ? null : f.own.match(re);
    if (!m) continue;
    marked.add(f);
    why.set(f, m[0]);
    changed = true;
  }
}

// Call sites that would need an `await`: calls of seeds or marked names, line by line.
const markedNames = new Set([...marked].map((f) => f.name).filter((n) => !GENERIC.has(n) && n.length > 3));
const siteRe = callRe([...seeds, ...markedNames]);
let sites = 0;
const touched = new Set<string>();
for (const f of files(SRC).filter((f) => !f.includes(`${path.sep}store${path.sep}`))) {
  const n = readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => !/^\s*(\/\/|\*|import )/.test(l) && !/\bfunction\s/.test(l) && siteRe.test(l)).length;
  if (n) touched.add(path.relative(SRC, f));
  sites += n;
}

// Tests call the store too: each such line needs an await as well.
const TEST = path.resolve(SRC, "../test");
let testSites = 0;
const testFiles = new Set<string>();
for (const f of files(TEST)) {
  const n = readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => !/^\s*(\/\/|\*|import )/.test(l) && siteRe.test(l)).length;
  if (n) testFiles.add(f);
  testSites += n;
}

const sync = [...marked].filter((f) => !f.async);
const byDir = new Map<string, { all: number; sync: number }>();
for (const f of marked) {
  const d = path.relative(SRC, f.file).split(path.sep)[0]!;
  const e = byDir.get(d) ?? { all: 0, sync: 0 };
  e.all++;
  if (!f.async) e.sync++;
  byDir.set(d, e);
}
console.log("## The async ripple (static estimate, ±20%)");
console.log(`store functions that take a connection: ${seeds.size} (all of them change signature)`);
console.log(`functions outside src/store that reach the store: ${marked.size}, of which synchronous today: ${sync.length}`);
console.log(`files outside src/store touched: ${touched.size}; lines with a store-reaching call (each needs an await): ${sites}`);
console.log(`tests: ${testFiles.size} files, ${testSites} lines with a store-reaching call`);
console.log(
  "by folder (reaching / sync today):",
  [...byDir]
    .sort((a, b) => b[1].all - a[1].all)
    .map(([d, e]) => `${d} ${e.all}/${e.sync}`)
    .join(", "),
);
if (list)
  for (const f of sync.sort((a, b) => a.file.localeCompare(b.file)))
    console.log(`  sync: ${path.relative(SRC, f.file)}:${f.line} ${f.name} ← ${why.get(f)}`);
