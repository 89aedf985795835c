import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { nodeName, type StorageConfig } from "../config/storage.ts";
import type { Logger } from "../lib/log.ts";
import type { Store } from "./driver.ts";
import { acquireStoreLock } from "./lock.ts";
import { connectStore, storeTarget } from "./open.ts";
import { exposedStorePaths } from "./permissions.ts";

// The store `hookd serve` runs on, with what each driver needs around it. SQLite: its folder
// made private, a warning when the file is readable by others (it holds receiver credentials
// and signing keys), and a lock file so two hookd processes never share one store. PostgreSQL:
// the fleet shares the database by design; each node is told apart by its name.

export type ConfiguredStore = { store: Store /** After the store is closed. */; release(): void };

export async function openConfiguredStore(storage: StorageConfig, log: Logger): Promise<ConfiguredStore> {
  if (storage.driver === "postgres") {
    const store = await connectStore(storeTarget(storage));
    log.info("store: PostgreSQL", { url: store.location, node: nodeName(storage) });
    return { store, release: () => {} };
  }
  mkdirSync(dirname(storage.path), { recursive: true, mode: 0o700 });
  for (const p of exposedStorePaths(storage.path)) {
    log.warn("the store is readable by other users; it holds receiver credentials and signing keys", {
      path: p.path,
      mode: p.mode,
      fix: `chmod ${p.path === dirname(storage.path) ? "700" : "600"} ${p.path}`,
    });
  }
  const lock = acquireStoreLock(storage.path);
  try {
    return { store: await connectStore(storeTarget(storage)), release: () => lock.release() };
  } catch (err) {
    lock.release();
    throw err;
  }
}
