// Writes docs/openapi.json: the OpenAPI document hookd serves at /api/v1/openapi.json,
// generated from the route and zod definitions. test/api/openapi-committed.test.ts fails
// when the committed copy and the served one differ, so the contract in the repository
// cannot drift from the code. Run: bun scripts/openapi.ts
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startHookd } from "../src/app.ts";
import { defaultConfig } from "../src/config/schema.ts";
import { silentLogger } from "../src/lib/log.ts";

export const OPENAPI_PATH = resolve(import.meta.dir, "../docs/openapi.json");

/** The document as a running hookd serves it, in the committed file's layout. */
export async function servedOpenApi(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "hookd-openapi-"));
  const config = defaultConfig();
  config.server.listen = "127.0.0.1:0";
  config.storage.path = join(dir, "hookd.db");
  const hookd = await startHookd({ config, log: silentLogger, announceKey: () => {} });
  try {
    const res = await fetch(`${hookd.url}/api/v1/openapi.json`);
    return `${JSON.stringify(await res.json(), null, 2)}\n`;
  } finally {
    await hookd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  writeFileSync(OPENAPI_PATH, await servedOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
