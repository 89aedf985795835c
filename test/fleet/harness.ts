// A fleet of real hookd processes on one PostgreSQL database, for the end-to-end fleet tests:
// N nodes, each with its own folder, config file, Postfix log and node name; the admin key
// the first node announces; stop, SIGKILL and restart of a node; a real receiver and what it
// got, by event id with the webhook-id of each request that carried it.
//
//   const pg = usePostgres();
//   const fleet = useFleet();                      // nodes and receivers stopped after each test
//   const { url, sql } = await pg.database({ migrated: true });
//   const f = await fleet.start(url, ["A", "B", "C"], { delivery: { batch_max_wait: "50ms" } });
import { afterEach } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { eventsOf, type ReceivedEvent } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, tempDir, within, type SpawnedHookd } from "../helpers/hookd.ts";
import { startReceiver, type Receiver, type RecordedRequest } from "../helpers/receiver.ts";

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

// ---------------------------------------------------------------------------------------
// Log lines

/** Syslog time for a line written now-ish: Postfix's "Mmm dd hh:mm:ss" (UTC, as the parser reads it). */
function syslogStamp(ms: number): string {
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (x: number) => String(x).padStart(2, "0");
  return `${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** The recipient of message `i` of `host`: how a received event is traced to its line. */
export const rcptOf = (host: string, i: number) => `${host.toLowerCase()}-${String(i).padStart(7, "0")}@example.org`;

/**
 * Messages `from`…`to-1` of `host`: each a qmgr line and a delivery line, so two events
 * (injection, delivery) whose rcpt_to is rcptOf(host, i). Queue ids are distinct per host.
 */
export function messageLines(host: string, from: number, to: number, ms = Date.now()): string[] {
  const stamp = syslogStamp(ms);
  const base = 0x100000 * (1 + (host.charCodeAt(0) % 64));
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const qid = (base * 0x1000 + i).toString(16).toUpperCase();
    const rcpt = rcptOf(host, i);
    out.push(`${stamp} ${host} postfix/qmgr[1002]: ${qid}: from=<news@example.com>, size=1234, nrcpt=1 (queue active)`);
    out.push(
      `${stamp} ${host} postfix/smtp[1004]: ${qid}: to=<${rcpt}>, relay=mx.example.org[198.51.100.7]:25, delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 Ok)`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// What the receiver got

export type Arrival = { webhookId: string; request: number; event: ReceivedEvent };

export type Received = {
  /** event_id → each arrival (one per request that carried it). */
  byId: Map<string, Arrival[]>;
  /** The events of the distinct batches (first arrival of each webhook-id), in arrival order. */
  inOrder: ReceivedEvent[];
  /** Problems: a webhook-id sent with two bodies, an event in two different batches, a request without webhook-id. */
  violations: string[];
  /** webhook-ids received more than once. */
  resent: string[];
};

/** Groups the receiver's requests by event and checks that duplicates are whole resent batches. */
export function collect(requests: readonly RecordedRequest[]): Received {
  const byId = new Map<string, Arrival[]>();
  const bodies = new Map<string, string>();
  const times = new Map<string, number>();
  const inOrder: ReceivedEvent[] = [];
  const violations: string[] = [];
  requests.forEach((r, request) => {
    const webhookId = r.headers["webhook-id"];
    if (!webhookId) {
      violations.push(`request ${request} without webhook-id`);
      return;
    }
    const first = bodies.get(webhookId);
    times.set(webhookId, (times.get(webhookId) ?? 0) + 1);
    if (first !== undefined) {
      if (first !== r.body) violations.push(`webhook-id ${webhookId} sent with two different bodies`);
    } else bodies.set(webhookId, r.body);
    for (const event of eventsOf(r)) {
      const list = byId.get(event.event_id) ?? [];
      list.push({ webhookId, request, event });
      byId.set(event.event_id, list);
      if (first === undefined) inOrder.push(event);
    }
  });
  for (const [id, arrivals] of byId) {
    const batches = new Set(arrivals.map((a) => a.webhookId));
    if (batches.size > 1) violations.push(`event ${id} arrived in ${batches.size} different batches: ${[...batches].join(", ")}`);
  }
  const resent = [...times].filter(([, n]) => n > 1).map(([id]) => id);
  return { byId, inOrder, violations, resent };
}

/**
 * Log events out of order within their source: for each host, the message numbers of its
 * events (rcptOf) in the order received must never go back, and a message's injection
 * comes before its delivery.
 */
export function sourceOrderProblems(inOrder: readonly ReceivedEvent[], hosts: readonly string[]): string[] {
  const problems: string[] = [];
  const last = new Map<string, { i: number; type: string }>();
  for (const e of inOrder) {
    const host = e.host as string | undefined;
    if (!host || !hosts.includes(host)) continue;
    const m = /-(\d{7})@/.exec(String(e.rcpt_to ?? ""));
    if (!m) continue;
    const i = Number(m[1]);
    const prev = last.get(host);
    if (prev && (i < prev.i || (i === prev.i && prev.type === "delivery" && e.type === "injection")))
      problems.push(`${host}: ${e.type} of message ${i} after ${prev.type} of message ${prev.i}`);
    last.set(host, { i, type: e.type });
    if (problems.length > 10) break;
  }
  return problems;
}

/** The expected log events of `host`'s messages 0…n-1 as "host type rcpt" keys. */
export function expectedLogKeys(host: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${host} injection ${rcptOf(host, i)}`, `${host} delivery ${rcptOf(host, i)}`);
  return out;
}

export const logKey = (e: ReceivedEvent) => `${String(e.host)} ${e.type} ${String(e.rcpt_to)}`;

/** The nodes' stderr and last log lines, for a failing test's message. */
export function diagnostics(f: Fleet): string {
  return f.nodes
    .map((n) => {
      const p = n.proc;
      if (!p) return `--- ${n.name}: not running`;
      // Repeated API failures say little; what else each node logged is what explains a stall.
      const out = p.stdoutLines
        .filter((l) => !l.includes('"level":"debug"') && !l.includes('"msg":"unhandled error"'))
        .slice(-15)
        .join("\n");
      return `--- ${n.name} stderr:\n${p.stderr().slice(-2000)}\n--- ${n.name} stdout (last lines):\n${out}`;
    })
    .join("\n");
}

/** Waits until `done(received)` holds; fails with what arrived and the nodes' output. */
export async function waitForReceived(
  f: Fleet,
  rx: Receiver,
  done: (r: Received) => boolean,
  timeoutMs: number,
): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = collect(rx.requests);
    if (done(r)) return r;
    if (Date.now() > deadline)
      throw new Error(`not received within ${timeoutMs} ms: ${r.byId.size} distinct events in ${rx.requests.length} requests\n${diagnostics(f)}`);
    await Bun.sleep(200);
  }
}

/** The database's sessions (who waits on what, who sits in a transaction), for a failing test's message. */
export async function sessions(sql: import("bun").SQL): Promise<string> {
  const rows = await sql`SELECT pid, application_name AS app, state, wait_event_type AS wtype, wait_event AS wait,
      now() - xact_start AS xact_age, left(regexp_replace(query, '\\s+', ' ', 'g'), 300) AS query
    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST`;
  return (rows as Record<string, unknown>[]).map((r) => JSON.stringify(r)).join("\n");
}

/** Each node's view of its sources and the database's counts, for a failing test's message. */
export async function fleetReport(f: Fleet, sql: import("bun").SQL): Promise<string> {
  const out: string[] = [];
  for (const n of f.nodes) {
    if (!n.running()) continue;
    const s = await n
      .api("GET", "/status")
      .then((r) => r.text())
      .catch((e: Error) => e.message);
    out.push(`--- ${n.name} /status: ${s.slice(0, 1500)}`);
  }
  const q = async (text: string) => JSON.stringify(await sql.unsafe(text).catch((e: Error) => e.message));
  out.push(`--- events by host: ${await q("SELECT host, count(*)::int AS n, max(seq)::int AS max_seq FROM events GROUP BY host ORDER BY host")}`);
  out.push(`--- batches: ${await q("SELECT state, count(*)::int AS n, count(lease_token)::int AS leased, sum(event_count)::int AS events FROM batches GROUP BY state")}`);
  out.push(`--- webhooks: ${await q("SELECT id, cursor_seq::int, consecutive_failures FROM webhooks")}`);
  out.push(`--- checkpoints: ${await q(`SELECT node, source, "offset"::int FROM source_checkpoints`)}`);
  out.push(`--- sessions:\n${await sessions(sql).catch((e: Error) => e.message)}`);
  return out.join("\n");
}
