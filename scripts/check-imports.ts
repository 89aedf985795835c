// Reads the imports of every file under src/ and fails on an import cycle, on an import
// that breaks the layer order written in docs/ARCHITECTURE.md (the ```layers block), or on a
// database reached around the store's interface (storeOffences).
// Run: bun scripts/check-imports.ts   (npm test runs it; exit 1 lists every offence)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const src = join(root, "src");

export type Graph = Map<string, string[]>;

/** Every relative import of every .ts file under dir: static, re-exports and import(). */
export function readGraph(dir: string): Graph {
  const graph: Graph = new Map();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".d.ts"))
        graph.set(relative(dir, p), importsOf(readFileSync(p, "utf8"), relative(dir, dirname(p))));
    }
  };
  walk(dir);
  return graph;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|(?:^|[\s;(])import\s*\(\s*["']([^"']+)["']\s*\)|new URL\(\s*["'](\.[^"']+\.ts)["']/gm;

export function importsOf(text: string, fromDir: string): string[] {
  const out = new Set<string>();
  // Comments may quote import lines; they are not imports.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || !spec.startsWith(".")) continue;
    out.add(join(fromDir, spec).replace(/\\/g, "/"));
  }
  return [...out];
}

/** The layers, lowest first: each line lists the modules (folders or files, no .ts) of one layer. */
export function readLayers(architecture: string): string[][] {
  const block = /```layers\n([\s\S]*?)```/.exec(architecture);
  if (!block) throw new Error("docs/ARCHITECTURE.md has no ```layers block");
  return block[1]!
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
}

/** The module a file belongs to: the longest layer entry that is the file or a folder above it. */
function moduleOf(file: string, entries: string[]): string | null {
  const path = file.replace(/\.ts$/, "");
  let best: string | null = null;
  for (const e of entries) if ((path === e || path.startsWith(`${e}/`)) && (!best || e.length > best.length)) best = e;
  return best;
}

export function layerOffences(graph: Graph, layers: string[][]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((l, i) => l.forEach((m) => rank.set(m, i)));
  const entries = [...rank.keys()];
  const out: string[] = [];
  for (const [file, deps] of graph) {
    const from = moduleOf(file, entries);
    if (!from) {
      out.push(`${file}: in no layer of docs/ARCHITECTURE.md`);
      continue;
    }
    for (const dep of deps) {
      const to = moduleOf(dep, entries);
      if (!to || to === from) continue;
      const a = rank.get(from)!;
      const b = rank.get(to)!;
      if (b > a) out.push(`${file} → ${dep}: ${from} (layer ${a}) imports upward from ${to} (layer ${b})`);
      else if (b === a) out.push(`${file} → ${dep}: ${from} and ${to} are siblings (layer ${a}) and must not import each other`);
    }
  }
  return out;
}

/** Every cycle, each as the files around it (Tarjan's strongly connected components). */
export function cycles(graph: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Packages only the store's drivers may import: the rest of hookd sees the store's interface. */
const DATABASE_PACKAGES = /^(bun:sqlite|drizzle-orm)(\/|$)/;
const PACKAGE =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"'.][^"']*)["']|(?:^|[\s;(])(?:import|require)\s*\(\s*["']([^"'.][^"']*)["']\s*\)/gm;

/**
 * Outside store/: no database package (bun:sqlite, drizzle), and nothing from a driver's own
 * folder (store/sqlite/, store/postgres/): callers use store/driver.ts and the open/pure modules
 * beside it, so that they run on whichever driver is open. `texts`: file → its source.
 */
export function storeOffences(texts: Map<string, string>, graph: Graph): string[] {
  const out: string[] = [];
  for (const [file, text] of texts) {
    if (file.startsWith("store/")) continue;
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(PACKAGE)) {
      const spec = m[1] ?? m[2]!;
      if (DATABASE_PACKAGES.test(spec)) out.push(`${file} → ${spec}: only store/ may use a database package; use store/driver.ts`);
    }
    for (const dep of graph.get(file) ?? []) {
      if (/^store\/(sqlite|postgres)\//.test(dep))
        out.push(`${file} → ${dep}: a driver's own module; use store/driver.ts (or store/open.ts)`);
    }
  }
  return out;
}

/** Every .ts file under dir (no .d.ts): path relative to dir → its text. */
export function readTexts(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

if (import.meta.main) {
  const graph = readGraph(src);
  const missing = [...graph].flatMap(([f, deps]) =>
    deps.filter((d) => !graph.has(d) && d.endsWith(".ts")).map((d) => `${f} → ${d}: no such file`),
  );
  const layers = readLayers(readFileSync(join(root, "docs/ARCHITECTURE.md"), "utf8"));
  const problems = [
    ...missing,
    ...cycles(graph).map((c) => `cycle: ${c.join(" ↔ ")}`),
    ...layerOffences(graph, layers),
    ...storeOffences(readTexts(src), graph),
  ];
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`check-imports: ${problems.length} problem(s) in ${graph.size} files`);
    process.exit(1);
  }
  console.log(`check-imports: ${graph.size} files, no cycles, layers as in docs/ARCHITECTURE.md, no database outside store/`);
}
