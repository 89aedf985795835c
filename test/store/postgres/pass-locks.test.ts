import { expect, test } from "bun:test";
import type { SQL } from "bun";
import type { Store } from "../../../src/store/driver.ts";
import { openPostgresDriver } from "../../../src/store/postgres/driver.ts";
import { eventually } from "../../helpers/eventually.ts";
import { usePostgres } from "../../helpers/pg.ts";
import { claimOf, cutOf, pass, rowsOf, T, webhookRow } from "../driver-env.ts";

// The pass's row locks on webhooks, against a transaction that holds one (as another node's
// pass, or an API edit, would): a claim skips the webhook without waiting; a cut waits, then
// compares against what the other transaction committed.

const pg = usePostgres();

async function fleet(): Promise<{ store: Store; other: SQL }> {
  const { url } = await pg.database({ migrated: true });
  const store = await openPostgresDriver(url, { node: "node-a", max: 2 });
  const other = pg.connect(url);
  await store.events.insert(rowsOf(20, "e"), [], "api", T);
  for (const id of ["w1", "w2"]) {
    await store.webhooks.insert(webhookRow(id));
    await pass(store, { cuts: [cutOf({ id, version: T }, 0, 10, `${id}_0`)] });
  }
  return { store, other };
}

test("a webhook whose row another transaction holds is not claimed this pass, and the pass does not wait for it", async () => {
  const { store, other } = await fleet();
  try {
    const claims = [claimOf({ id: "w1", version: T }), claimOf({ id: "w2", version: T })];
    const during = await other.begin(async (tx) => {
      await tx`SELECT 1 FROM webhooks WHERE id = 'w1' FOR UPDATE`;
      return pass(store, { now: T + 1, claims });
    });
    expect(during.claims.map((c) => c.batch.id)).toEqual(["w2_0"]);
    expect((await pass(store, { now: T + 2, claims })).claims.map((c) => c.batch.id)).toEqual(["w1_0"]);
  } finally {
    await store.close();
  }
});

test("a cut waits for a webhook's row held by another transaction, then compares against what it committed", async () => {
  const { store, other } = await fleet();
  try {
    let cut: Promise<string[]> | null = null;
    await other.begin(async (tx) => {
      await tx`UPDATE webhooks SET updated_at = ${T + 1} WHERE id = 'w1'`;
      cut = pass(store, { cuts: [cutOf({ id: "w1", version: T }, 10, 20, "w1_1")] }).then((o) => o.cut);
      // The pass is waiting on the row lock before this transaction commits its edit.
      await eventually(async () => {
        const [r] =
          await tx`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return (r as { n: number }).n === 1;
      });
    });
    expect(await cut!).toEqual([]);
    expect((await store.delivery.passState()).pending).toEqual(
      new Map([
        ["w1", 1],
        ["w2", 1],
      ]),
    );
  } finally {
    await store.close();
  }
});
