import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cycles, importsOf, layerOffences, readGraph, readLayers, readTexts, storeOffences } from "../../scripts/check-imports.ts";
import { REPO_ROOT } from "../helpers/hookd.ts";

const layers = readLayers(readFileSync(join(REPO_ROOT, "docs/ARCHITECTURE.md"), "utf8"));

test("src/ has no import cycle and no import against the layer order in docs/ARCHITECTURE.md", () => {
  const graph = readGraph(join(REPO_ROOT, "src"));
  expect(graph.size).toBeGreaterThan(50);
  expect(cycles(graph).map((c) => c.join(" ↔ "))).toEqual([]);
  expect(layerOffences(graph, layers)).toEqual([]);
  expect(storeOffences(readTexts(join(REPO_ROOT, "src")), graph)).toEqual([]);
});

test("the checker sees static, type-only, re-export and dynamic imports, not ones quoted in comments", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../store/b.ts";',
    'export { c } from "./c.ts";',
    'const d = await import("./d.ts");',
    '// import { e } from "./e.ts";',
    'import { z } from "zod";',
  ].join("\n");
  expect(importsOf(text, "deliver").sort()).toEqual(["deliver/a.ts", "deliver/c.ts", "deliver/d.ts", "store/b.ts"]);
});

test("the checker fails an upward import, a sibling import and a cycle", () => {
  const graph = new Map([
    ["store/events.ts", ["deliver/engine.ts"]],
    ["deliver/engine.ts", ["store/events.ts"]],
    ["ingest/tailer.ts", ["deliver/engine.ts"]],
    ["admin/static.ts", ["ingest/tailer.ts"]],
  ]);
  const order = [["store"], ["ingest", "admin"], ["deliver"]];
  expect(cycles(graph)).toEqual([["deliver/engine.ts", "store/events.ts"]]);
  const offences = layerOffences(graph, order);
  expect(offences).toHaveLength(3);
  expect(offences.some((o) => o.startsWith("store/events.ts → deliver/engine.ts") && o.includes("upward"))).toBe(true);
  expect(offences.some((o) => o.startsWith("ingest/tailer.ts → deliver/engine.ts") && o.includes("upward"))).toBe(true);
  expect(offences.some((o) => o.startsWith("admin/static.ts → ingest/tailer.ts") && o.includes("siblings"))).toBe(true);
});

test("nothing outside store/ reaches a database: no bun:sqlite or drizzle import, no driver's own module", () => {
  const texts = new Map([
    ["api/ok.ts", 'import type { Store } from "../store/driver.ts";\nimport { openStore } from "../store/open.ts";'],
    ["deliver/raw.ts", 'import type { Database } from "bun:sqlite";'],
    ["webhooks/orm.ts", 'import { eq } from "drizzle-orm";\nconst m = await import("drizzle-orm/bun-sqlite");'],
    ["cli/around.ts", 'import { insertRows } from "../store/sqlite/events.ts";'],
    ["store/sqlite/events.ts", 'import type { Database } from "bun:sqlite";'],
    ["track/comment.ts", '// import { Database } from "bun:sqlite";'],
  ]);
  const graph = new Map([...texts].map(([f, t]) => [f, importsOf(t, f.slice(0, f.lastIndexOf("/")))]));
  const offences = storeOffences(texts, graph);
  expect(offences.map((o) => o.split(" → ")[0])).toEqual(["deliver/raw.ts", "webhooks/orm.ts", "webhooks/orm.ts", "cli/around.ts"]);
});
