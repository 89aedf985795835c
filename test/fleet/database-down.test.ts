// The fleet's database goes away for 30 s while logs are read and batches delivered: no node
// exits, each node's API answers 503 store_unavailable promptly meanwhile, and once the
// database is back every event is delivered without restarting anything.
import { expect, test } from "bun:test";
import { makeEvents } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { usePostgres } from "../helpers/pg.ts";
import { fleetReport, waitForReceived } from "./fleet-report.ts";
import { createWebhook, resultsOf, useFleet, type FleetNode } from "./harness.ts";
import { expectedLogKeys, logKey, messageLines } from "./log-lines.ts";
import { sourceOrderProblems } from "./received.ts";

const pg = usePostgres();
const fleet = useFleet();

const DOWN_MS = 30_000;
/** An answer slower than this while the database is down counts as hanging. */
const PROMPT_MS = 5_000;

type Probe = { node: string; what: string; status: number | string; code?: string; ms: number };

/** One API read and one write on `n`, timed; what each answered. */
async function probe(n: FleetNode, i: number): Promise<Probe[]> {
  const calls: [string, () => Promise<Response>][] = [
    ["GET /events", () => n.api("GET", "/events?limit=1")],
    ["POST /events", () => n.api("POST", "/events", makeEvents(1, `down-${n.name}-${i}`))],
    ["GET /webhooks", () => n.api("GET", "/webhooks")],
  ];
  return Promise.all(
    calls.map(async ([what, call]) => {
      const t = Date.now();
      try {
        const res = await call();
        const body = (await res.json().catch(() => ({}))) as { errors?: { code?: string }[] };
        return { node: n.name, what, status: res.status, code: body.errors?.[0]?.code, ms: Date.now() - t };
      } catch (err) {
        return { node: n.name, what, status: `failed: ${(err as Error).message}`, ms: Date.now() - t };
      }
    }),
  );
}

test("PostgreSQL stopped for 30 s under load: no node exits, the API answers 503 store_unavailable within seconds, then every event is delivered without a restart", async () => {
  const { url, sql } = await pg.database({ migrated: true });
  const rx = await fleet.receiver();
  const f = await fleet.start(url, ["A", "B", "C"], { delivery: { batch_max_events: 500 } });
  const pids = f.nodes.map((n) => n.proc!.proc.pid);
  const a = f.node("A");
  await createWebhook(a, `${rx.url}/in`);
  const logNodes = [f.node("B"), f.node("C")];

  // The MTAs keep writing the whole time, database or not.
  let messages = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      for (const n of logNodes) n.append(messageLines(n.name, messages, messages + 25));
      messages += 25;
      await Bun.sleep(100);
    }
  })();
  const before = makeEvents(500, "before");
  await resultsOf(a.api("POST", "/events", before));
  await rx.waitFor((r) => r.length >= 3, 15_000);

  await pg.server().halt();
  const haltedAt = Date.now();
  const probes: Probe[] = [];
  let i = 0;
  while (Date.now() - haltedAt < DOWN_MS) {
    probes.push(...(await Promise.all(f.nodes.map((n) => probe(n, i++)))).flat());
    await Bun.sleep(1_000);
  }
  const stillRunning = f.nodes.map((n) => [n.name, n.running()]);
  await pg.server().resume();

  const after = makeEvents(500, "after");
  // Lines keep coming while the nodes reconnect; the writer stops once every node's API answers again.
  await eventually(
    async () => {
      for (const n of f.nodes) await resultsOf(n.api("GET", "/events?limit=1"));
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  writing = false;
  await writer;
  // The API is back on every node (the pool reconnects by itself).
  for (const n of f.nodes) await resultsOf(n.api("GET", "/events?limit=1"));
  await resultsOf(f.node("C").api("POST", "/events", after));

  const total = before.length + after.length + 4 * messages;
  const got = await waitForReceived(
    f,
    rx,
    (r) => [...before, ...after].every((e) => r.byId.has(e.event_id!)) && r.byId.size >= total,
    60_000,
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await fleetReport(f, sql)}`);
  });

  expect(stillRunning).toEqual([
    ["A", true],
    ["B", true],
    ["C", true],
  ]);
  expect(f.nodes.map((n) => n.proc!.proc.pid)).toEqual(pids);
  // Every probe while the database was down: 503 store_unavailable, promptly.
  expect(probes.length).toBeGreaterThan(3 * 3 * 20);
  const wrong = probes.filter((p) => p.status !== 503 || p.code !== "store_unavailable" || p.ms > PROMPT_MS);
  expect(wrong).toEqual([]);

  expect(got.violations).toEqual([]);
  for (const e of [...before, ...after]) expect(got.byId.has(e.event_id!)).toBe(true);
  const logKeys = new Set(got.inOrder.filter((e) => e.host === "B" || e.host === "C").map(logKey));
  expect(logKeys).toEqual(new Set([...expectedLogKeys("B", messages), ...expectedLogKeys("C", messages)]));
  expect(sourceOrderProblems(got.inOrder, ["B", "C"])).toEqual([]);
  for (const n of f.nodes) expect(n.proc!.proc.pid).toBe(pids[f.nodes.indexOf(n)]!);
}, 180_000);
