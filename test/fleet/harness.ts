// A fleet of real hookd processes on one PostgreSQL database, for the end-to-end fleet tests:
// N nodes, each with its own folder, config file, Postfix log and node name; the admin key
// the first node announces; stop, SIGKILL and restart of a node; a real receiver. What the
// receiver got is read with received.ts, log lines made with log-lines.ts, and a failing
// test explained with fleet-report.ts.
//
//   const pg = usePostgres();
//   const fleet = useFleet();                      // nodes and receivers stopped after each test
//   const { url, sql } = await pg.database({ migrated: true });
//   const f = await fleet.start(url, ["A", "B", "C"], { delivery: { batch_max_wait: "50ms" } });
import { afterEach } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, tempDir, within, type SpawnedHookd } from "../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";

export type FleetOptions = {
  /** [delivery] keys, as TOML values are written (strings quoted, numbers not). */
  delivery?: Record<string, string | number>;
  /** Extra environment for every node. */
  env?: Record<string, string>;
};

export type FleetNode = {
  readonly name: string;
  readonly dir: string;
  /** The Postfix log this node tails (host = its name), from its beginning. */
  readonly logPath: string;
  /** The running process (null while stopped or killed). */
  readonly proc: SpawnedHookd | null;
  /** The API's base URL of the running process (a new port after each restart). */
  readonly url: string;
  running(): boolean;
  start(): Promise<void>;
  /** SIGTERM, bounded; the exit code. */
  stop(): Promise<number>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  append(lines: readonly string[]): void;
  /** fetch on this node's API with the admin key. */
  api(method: string, pathname: string, body?: unknown): Promise<Response>;
};

export type Fleet = {
  nodes: FleetNode[];
  node(name: string): FleetNode;
  key: string;
  dbUrl: string;
};

const toml = (v: string | number) => (typeof v === "number" ? String(v) : JSON.stringify(v));

function configText(dbUrl: string, name: string, dir: string, logPath: string, opts: FleetOptions): string {
  const delivery = Object.entries({ batch_max_wait: "50ms", ...opts.delivery })
    .map(([k, v]) => `${k} = ${toml(v)}`)
    .join("\n");
  return [
    "[storage]",
    `driver = "postgres"`,
    `url = ${toml(dbUrl)}`,
    `node = ${toml(name)}`,
    `path = ${toml(path.join(dir, "unused.db"))}`,
    "",
    "[delivery]",
    delivery,
    "",
    "[[sources]]",
    `path = ${toml(logPath)}`,
    `format = "postfix"`,
    `start_at = "beginning"`,
    `host = ${toml(name)}`,
    "",
  ].join("\n");
}

async function apiCall(url: string, key: string, method: string, pathname: string, body?: unknown): Promise<Response> {
  return fetch(`${url}/api/v1${pathname}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

function makeNode(dbUrl: string, name: string, opts: FleetOptions, keyOf: () => string): FleetNode {
  const dir = tempDir();
  const logPath = path.join(dir, "mail.log");
  const configPath = path.join(dir, "hookd.toml");
  fs.writeFileSync(logPath, "");
  fs.writeFileSync(configPath, configText(dbUrl, name, dir, logPath, opts));
  let proc: SpawnedHookd | null = null;
  const running = () => proc !== null && proc.proc.exitCode === null && proc.proc.signalCode === null;
  const node: FleetNode = {
    name,
    dir,
    logPath,
    get proc() {
      return proc;
    },
    get url() {
      if (!proc) throw new Error(`node ${name} is not running`);
      return proc.url;
    },
    running,
    async start() {
      if (running()) throw new Error(`node ${name} is already running`);
      proc = await spawnHookd({ cwd: dir, args: ["serve", "--config", configPath], env: opts.env, startTimeoutMs: 30_000 });
    },
    async stop() {
      const p = proc;
      proc = null;
      return p ? p.stop(10_000) : 0;
    },
    async kill() {
      const p = proc;
      proc = null;
      if (!p) return;
      p.proc.kill(9);
      await p.exited;
    },
    async restart() {
      await node.kill();
      await node.start();
    },
    append(lines) {
      if (lines.length) fs.appendFileSync(logPath, lines.join("\n") + "\n");
    },
    api(method, pathname, body) {
      return apiCall(node.url, keyOf(), method, pathname, body);
    },
  };
  return node;
}

/** The first admin key a node printed on stderr. */
export function announcedKey(p: SpawnedHookd): string | null {
  return /hookd_[A-Za-z0-9_-]{30,}/.exec(p.stderr())?.[0] ?? null;
}

/** Call once at the top of a test file: fleets and receivers made through it are stopped after each test. */
export function useFleet() {
  const fleets: Fleet[] = [];
  const receivers: Receiver[] = [];
  afterEach(async () => {
    // SIGKILL: what is left of a test's fleet has nothing to finish, and a node stuck on a
    // database gone for good must not hold the file up.
    for (const f of fleets.splice(0)) await Promise.all(f.nodes.map((n) => within(n.kill(), 5_000, undefined)));
    for (const r of receivers.splice(0)) await r.stop();
  });
  return {
    async receiver(): Promise<Receiver> {
      const r = await startReceiver();
      receivers.push(r);
      return r;
    },
    /** Starts the first node (it creates the admin key), then the others at once. */
    async start(dbUrl: string, names: readonly string[], opts: FleetOptions = {}): Promise<Fleet> {
      let key = "";
      const nodes = names.map((n) => makeNode(dbUrl, n, opts, () => key));
      const fleet: Fleet = {
        nodes,
        key: "",
        dbUrl,
        node(name) {
          const n = nodes.find((x) => x.name === name);
          if (!n) throw new Error(`no node ${name}`);
          return n;
        },
      };
      fleets.push(fleet);
      const first = nodes[0]!;
      await first.start();
      key = (await eventually(() => announcedKey(first.proc!), { timeoutMs: 10_000 }))!;
      fleet.key = key;
      await Promise.all(nodes.slice(1).map((n) => n.start()));
      // Only the first node may have created a key: the others found it in the database.
      for (const n of nodes.slice(1)) if (announcedKey(n.proc!)) throw new Error(`node ${n.name} announced a second admin key`);
      return fleet;
    },
  };
}

/** The `results` of a response that must have `status`; fails with the body otherwise. */
export async function resultsOf<T>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected HTTP ${status}, got ${r.status}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { results: T }).results;
}

export type NodeView = { name: string; alive: boolean; in_flight: number; sources: { path: string; status: string }[] };
export type StatusView = { node: string; nodes: NodeView[] };

export const statusOf = (n: FleetNode) => resultsOf<StatusView>(n.api("GET", "/status"));

/** A webhook on `target` for every event type, no verification POST. */
export const createWebhook = (n: FleetNode, target: string, fields: Record<string, unknown> = {}) =>
  resultsOf<{ id: string }>(n.api("POST", "/webhooks", { name: "fleet", target, events: ["*"], verification: "none", ...fields }), 201);
