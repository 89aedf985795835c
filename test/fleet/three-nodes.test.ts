// Three hookd processes on one PostgreSQL database: a webhook made through one node receives
// the events every node ingests (its own log) or is sent (POST /events), each source's in
// the order written, and any node's /status lists the three of them.
import { expect, test } from "bun:test";
import { ids, makeEvents } from "../helpers/delivery.ts";
import { usePostgres } from "../helpers/pg.ts";
import { sessions, waitForReceived } from "./fleet-report.ts";
import { createWebhook, resultsOf, statusOf, useFleet } from "./harness.ts";
import { expectedLogKeys, logKey, messageLines } from "./log-lines.ts";
import { sourceOrderProblems } from "./received.ts";

const pg = usePostgres();
const fleet = useFleet();

const MESSAGES = 600; // per log: 1,200 events each
const POSTED = 1_000;

test("three nodes: a webhook made on A gets B's and C's log events and A's posted events, each source in order; /status on any node lists A, B, C alive", async () => {
  const { url, sql } = await pg.database({ migrated: true });
  const rx = await fleet.receiver();
  const f = await fleet.start(url, ["A", "B", "C"], { delivery: { batch_max_events: 200 } });
  const [a, b, c] = f.nodes as [(typeof f.nodes)[0], (typeof f.nodes)[0], (typeof f.nodes)[0]];
  await createWebhook(a, `${rx.url}/in`);

  // Written in slices while the nodes already deliver, so batches are cut on more than one node.
  const posted = makeEvents(POSTED, "api");
  for (let s = 0; s < 6; s++) {
    const from = (MESSAGES / 6) * s;
    const to = (MESSAGES / 6) * (s + 1);
    b.append(messageLines("B", from, to));
    c.append(messageLines("C", from, to));
    const part = posted.slice((POSTED / 6) * s, Math.min(POSTED, Math.ceil((POSTED / 6) * (s + 1))));
    await resultsOf(a.api("POST", "/events", part));
    await Bun.sleep(50);
  }
  const rest = posted.slice(Math.ceil((POSTED / 6) * 6));
  if (rest.length) await resultsOf(a.api("POST", "/events", rest));

  const total = POSTED + 4 * MESSAGES;
  const got = await waitForReceived(f, rx, (r) => r.byId.size >= total, 45_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n--- sessions:\n${await sessions(sql)}`);
  });
  expect(got.violations).toEqual([]);
  expect(got.byId.size).toBe(total);
  // Every posted event, in the order posted; every log event of B and C, each log in order.
  expect(got.inOrder.filter((e) => e.event_id.startsWith("api-")).map((e) => e.event_id)).toEqual(ids(posted));
  const logKeys = got.inOrder.filter((e) => !e.event_id.startsWith("api-")).map(logKey);
  expect(new Set(logKeys)).toEqual(new Set([...expectedLogKeys("B", MESSAGES), ...expectedLogKeys("C", MESSAGES)]));
  expect(sourceOrderProblems(got.inOrder, ["B", "C"])).toEqual([]);

  for (const n of f.nodes) {
    const status = await statusOf(n);
    expect(status.node).toBe(n.name);
    expect(status.nodes.map((x) => [x.name, x.alive]).sort()).toEqual([
      ["A", true],
      ["B", true],
      ["C", true],
    ]);
    const own = status.nodes.find((x) => x.name === n.name)!;
    expect(own.sources.map((s) => s.path)).toEqual([n.logPath]);
  }
  for (const n of f.nodes) expect(n.running()).toBe(true);
}, 90_000);
