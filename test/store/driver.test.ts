// The shared driver suite (driver.suite.ts) over every driver. A driver joins with its
// DriverSetup in DRIVERS: a fresh store per test, opened as one node or several.
import { describe } from "bun:test";
import { rmSync } from "node:fs";
import path from "node:path";
import type { Store } from "../../src/store/driver.ts";
import { openStore } from "../../src/store/open.ts";
import { openPostgresDriver } from "../../src/store/postgres/driver.ts";
import { tempDir } from "../helpers/hookd.ts";
import { usePostgres } from "../helpers/pg.ts";
import { type DriverSetup, driverSuite } from "./driver.suite.ts";

/** SQLite: a temp file per test; its "nodes" are connections to that one file (as the CLI and serve are). */
const sqlite: DriverSetup = {
  name: "sqlite",
  fleet: false,
  async fresh() {
    const dir = tempDir();
    const opened: Store[] = [];
    return {
      async open() {
        const s = openStore(path.join(dir, "hookd.db"));
        opened.push(s);
        return s;
      },
      async done() {
        for (const s of opened) await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const pg = usePostgres();

/** PostgreSQL: a fresh migrated database per test; each node is its own pool, as separate machines' are. */
const postgres: DriverSetup = {
  name: "postgres",
  fleet: true,
  async fresh() {
    const { url } = await pg.database({ migrated: true });
    const opened: Store[] = [];
    return {
      async open(node = "node-a") {
        const s = await openPostgresDriver(url, { node, max: 2 });
        opened.push(s);
        return s;
      },
      async done() {
        for (const s of opened) await s.close();
      },
    };
  },
};

const DRIVERS: DriverSetup[] = [sqlite, postgres];

describe.each(DRIVERS.map((d) => [d.name, d] as const))("store driver: %s", (_name, setup) => driverSuite(setup));
