import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { OPENAPI_PATH, servedOpenApi } from "../../scripts/openapi.ts";

test("docs/openapi.json is the document hookd serves (run `bun scripts/openapi.ts` after changing a route)", async () => {
  const committed = readFileSync(OPENAPI_PATH, "utf8");
  const served = await servedOpenApi();
  if (served !== committed) {
    // Name the first paths that differ, so the failure says what drifted.
    const a = JSON.parse(committed) as { paths: Record<string, unknown> };
    const b = JSON.parse(served) as { paths: Record<string, unknown> };
    const paths = [...new Set([...Object.keys(a.paths), ...Object.keys(b.paths)])].filter(
      (p) => JSON.stringify(a.paths[p]) !== JSON.stringify(b.paths[p]),
    );
    expect({ drifted: paths.slice(0, 10), other: paths.length === 0 ? "components or info differ" : undefined }).toEqual({
      drifted: [],
      other: undefined,
    });
  }
  expect(served).toBe(committed);
});

test("the committed document lists /accounts/current/webhooks, the SparkPost clients' path", () => {
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, "utf8")) as { paths: Record<string, Record<string, unknown>> };
  expect(Object.keys(doc.paths["/api/v1/accounts/current/webhooks"] ?? {})).toEqual(["get"]);
});
