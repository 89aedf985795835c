// A node dies holding a batch's lease, its request still open at the receiver: no other node
// sends that batch while the lease holds; once it has expired another node sends the same
// batch (same webhook-id, identical body), and the events behind it follow in order.
import { expect, test } from "bun:test";
import { ids, makeEvents } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { usePostgres } from "../helpers/pg.ts";
import { diagnostics, waitForReceived } from "./fleet-report.ts";
import { createWebhook, resultsOf, statusOf, useFleet } from "./harness.ts";

const pg = usePostgres();
const fleet = useFleet();

const TIMEOUT_MS = 2_000;
/** The lease a claim takes (src/deliver/dispatcher.ts): it outlives the longest attempt. */
const LEASE_MS = 4 * TIMEOUT_MS + 30_000;

test(
  "SIGKILL of the node holding the head batch's lease: after the lease another node sends the same batch (same webhook-id, same body)",
  async () => {
    const { url, sql } = await pg.database({ migrated: true });
    const rx = await fleet.receiver();
    // The first request is held open (until the receiver stops); every later one is answered 200.
    rx.respondWith((_req, n) => (n === 1 ? { status: 200, delayMs: 10 * 60_000 } : { status: 200 }));
    const f = await fleet.start(url, ["A", "B", "C"], { delivery: { timeout: "2s", batch_max_events: 5 } });
    const a = f.node("A");
    await createWebhook(a, `${rx.url}/in`);
    const first = makeEvents(5, "head");
    await resultsOf(a.api("POST", "/events", first));

    await rx.waitFor((r) => r.length >= 1, 15_000);
    const held = rx.requests[0]!;
    // Who holds the lease: any node's /status shows it (the leases are in the database).
    const holder = await eventually(
      async () => {
        const s = await statusOf(a);
        const busy = s.nodes.filter((n) => n.in_flight > 0);
        return busy.length === 1 ? busy[0]!.name : null;
      },
      { timeoutMs: 1_500, intervalMs: 20 },
    );
    const dead = f.node(holder!);
    await dead.kill();
    const killedAt = Date.now();
    // Well within the attempt's own timeout: the node never got to record an outcome.
    expect(killedAt - held.receivedAt).toBeLessThan(TIMEOUT_MS);

    // Events behind the held batch: they wait for it (one batch in flight per webhook, order kept).
    const alive = f.nodes.filter((n) => n !== dead);
    const second = makeEvents(5, "tail");
    await resultsOf(alive[0]!.api("POST", "/events", second));

    const head = (await sql`SELECT lease_node FROM batches WHERE state = 'pending' ORDER BY ord LIMIT 1`) as { lease_node: string }[];
    expect(head.map((h) => h.lease_node)).toEqual([dead.name]);

    const got = await waitForReceived(f, rx, (r) => r.byId.size >= 10, LEASE_MS + 20_000);
    const resend = rx.requests.find((r, i) => i > 0 && r.headers["webhook-id"] === held.headers["webhook-id"]);
    if (!resend) throw new Error(`the held batch was not sent again\n${diagnostics(f)}`);
    expect(resend.body).toBe(held.body);
    // Not before the lease ran out (the claim was taken just before the held request arrived).
    expect(resend.receivedAt - held.receivedAt).toBeGreaterThanOrEqual(LEASE_MS - 1_000);
    // Nothing else was sent while the head batch's lease held.
    expect(rx.requests.filter((r) => r.receivedAt < resend.receivedAt)).toEqual([held]);

    expect(got.violations).toEqual([]);
    expect(got.inOrder.map((e) => e.event_id)).toEqual(ids([...first, ...second]));
    // Sent by a node that is alive, and the dead one is shown gone from the lease's point of view.
    for (const n of alive) expect(n.running()).toBe(true);
    await eventually(async () => {
      const rows = (await sql`SELECT count(*)::int AS n FROM batches WHERE state <> 'delivered' OR lease_token IS NOT NULL`) as {
        n: number;
      }[];
      return rows[0]?.n === 0;
    });
  },
  LEASE_MS + 60_000,
);
