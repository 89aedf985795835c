// /status names the node that answered and lists the store's nodes: on SQLite the one process,
// from the heartbeat it writes at start.
import { expect, test } from "bun:test";
import os from "node:os";
import { testResources } from "../helpers/hookd.ts";

const resources = testResources();

type Status = {
  node: string;
  nodes: {
    name: string;
    alive: boolean;
    version: string;
    sources: { path: string; status: string }[];
    in_flight: number;
    last_seen_at: string;
  }[];
};

test("a SQLite hookd lists itself: named by storage.node (default the hostname), alive, its sources, nothing in flight", async () => {
  const app = await resources.app({ storage: { node: "mx-test-1" } });
  const res = await app.api("GET", "/status");
  expect(res.status).toBe(200);
  const { results } = (await res.json()) as { results: Status };
  expect(results.node).toBe("mx-test-1");
  expect(results.nodes.map((n) => [n.name, n.alive, n.in_flight])).toEqual([["mx-test-1", true, 0]]);
  expect(Date.now() - Date.parse(results.nodes[0]!.last_seen_at)).toBeLessThan(10_000);

  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metrics).toContain('hookd_node_info{driver="sqlite",node="mx-test-1"} 1');

  const other = await resources.app({});
  const second = (await (await other.api("GET", "/status")).json()) as { results: Status };
  expect(second.results.node).toBe(os.hostname());
});
