// A throwaway PostgreSQL for tests and benches: its own cluster in a temp folder, reached on a
// unix socket in that folder (no TCP port unless asked), stopped and deleted afterwards.
//
//   const pg = await startPgServer();       // ~1 s: initdb + start
//   const url = await pg.createDatabase();  // a fresh empty database, ~50 ms
//   ... new SQL(url) ...
//   await pg.stop();                        // immediate shutdown, folder removed
//
// As root (CI, this machine), PostgreSQL refuses to run, so initdb and the server run as the
// `postgres` user (Debian's package creates it; HOOKD_PG_USER names another) through runuser,
// and the folder is theirs. The server binaries are Debian's (/usr/lib/postgresql/<v>/bin, the
// newest), or HOOKD_PG_BIN.
//
// Nothing outlives its owner for long. pg_ctl detaches the server from us, so a process that
// dies without stop() (SIGKILL, a crashed `bun test --parallel` worker) would leave it running:
// a watchdog (pg-watchdog.ts) stops the server and removes the folder within a second of the
// owner's death, and every start also sweeps the folders of dead owners, in case a watchdog
// was killed too. Many processes can run servers at once: each has its own folder and socket.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { alive, killServerSync, PREFIX, postmasterPid, startWatchdog } from "./pg-watchdog.ts";

export type PgServerOptions = {
  /** fsync and synchronous commit on, as in production (benches); off by default (tests: 3–10× faster commits). */
  durable?: boolean;
  /** Also listen on 127.0.0.1 at a free port (tcpUrl); the unix socket is always there. */
  tcp?: boolean;
  /** More server settings (postgresql.conf names), e.g. { max_connections: 200 }. */
  settings?: Record<string, string | number | boolean>;
};

export type PgServer = {
  /** The `hookd` database over the unix socket, as Bun's SQL (and storage.url) take it. */
  url: string;
  /** The same over TCP when started with `tcp: true`. */
  tcpUrl: string | null;
  /** The folder holding the cluster (data/), its socket and its log. */
  dir: string;
  socket: string;
  /** A database's URL on this server (over the unix socket). */
  urlFor(database: string): string;
  /** A fresh empty database (from template0, or `template`) and its URL: one server, a clean database per test. */
  createDatabase(name?: string, template?: string): Promise<string>;
  /** Stops the server, keeping its data (the "database down" tests); resume() starts it again on the same socket. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  /** Immediate shutdown and the folder removed. Idempotent; also run at process exit. */
  stop(): Promise<void>;
  /** The server log's last lines, for a failing test's message. */
  logTail(lines?: number): string;
};

const USER = "hookd";
const DATABASE = "hookd";
// Only names the socket file (.s.PGSQL.<port>); each server has a folder of its own.
const SOCKET_PORT = 5432;
const START_TIMEOUT_S = 30;

/** The newest Debian PostgreSQL's bin folder, or HOOKD_PG_BIN; a clear error naming the package otherwise. */
export function pgBinDir(): string {
  const fromEnv = process.env.HOOKD_PG_BIN;
  if (fromEnv) {
    if (!existsSync(path.join(fromEnv, "postgres"))) throw new Error(`HOOKD_PG_BIN=${fromEnv}: no postgres binary there`);
    return fromEnv;
  }
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) {
    throw new Error(
      "PostgreSQL server not found in /usr/lib/postgresql/*/bin: install Debian's `postgresql` (as root: bash scripts/install-test-deps.sh) or set HOOKD_PG_BIN",
    );
  }
  return path.join(root, versions[0]!, "bin");
}

/** As root, who runs the server (it refuses root); null when we are not root. */
function serverUser(): { name: string; uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const name = process.env.HOOKD_PG_USER || "postgres";
  try {
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
    return { name, uid, gid };
  } catch {
    throw new Error(
      `running as root, and PostgreSQL refuses root: user "${name}" does not exist (Debian's postgresql package creates it; HOOKD_PG_USER names another)`,
    );
  }
}

function run(user: ReturnType<typeof serverUser>, bin: string, args: string[], what: string): void {
  const [cmd, argv] = user ? ["runuser", ["-u", user.name, "--", bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: (START_TIMEOUT_S + 5) * 1000 });
  if (r.status !== 0) {
    throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || "").trim().slice(-2000)}`);
  }
}

/** Stops and removes the servers of processes that died without stopping theirs (and whose watchdog died too). */
function sweepOrphans(tmp: string): void {
  let names: string[];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const dir = path.join(tmp, n);
    try {
      const owner = Number(readFileSync(path.join(dir, "owner"), "utf8"));
      // A folder being set up has no owner file for a moment: leave young ones alone.
      if (alive(owner) || Date.now() - statSync(dir).mtimeMs < 10_000) continue;
    } catch {
      if (Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 60_000) continue;
    }
    try {
      killServerSync(dir, 5_000);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Someone else's (another user's) leftover: not ours to remove.
    }
  }
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

const sqlString = (v: string | number | boolean) => (typeof v === "string" ? `'${v.replaceAll("'", "''")}'` : String(v));
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export async function startPgServer(opts: PgServerOptions = {}): Promise<PgServer> {
  const bin = pgBinDir();
  const user = serverUser();
  // A unix socket's path must stay under ~107 bytes: a long TMPDIR falls back to /tmp.
  const tmp = os.tmpdir().length > 60 ? "/tmp" : os.tmpdir();
  sweepOrphans(tmp);
  const dir = mkdtempSync(path.join(tmp, PREFIX));
  writeFileSync(path.join(dir, "owner"), String(process.pid));
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(path.join(dir, "owner"), user.uid, user.gid);
  }
  const data = path.join(dir, "data");
  const logFile = path.join(dir, "log");
  const tcpPort = opts.tcp ? freePort() : null;
  const port = tcpPort ?? SOCKET_PORT;
  const socket = path.join(dir, `.s.PGSQL.${port}`);
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: tcpPort ? "127.0.0.1" : "",
    unix_socket_directories: dir,
    port,
    ...(opts.durable ? {} : { fsync: false, synchronous_commit: false, full_page_writes: false }),
    ...opts.settings,
  };
  const watchdog = startWatchdog(process.pid, dir);
  let stopped = false;
  const onExit = () => {
    if (stopped) return;
    watchdog.cancel();
    killServerSync(dir, 3_000);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", onExit);

  const logTail = (lines = 30) => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no server log)";
    }
  };
  const startServer = () => {
    try {
      run(user, path.join(bin, "pg_ctl"), ["-D", data, "-l", logFile, "-w", "-t", String(START_TIMEOUT_S), "start"], "pg_ctl start");
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server log ---\n${logTail()}`);
    }
  };

  try {
    // --no-sync: a throwaway cluster need not survive a power cut; it saves most of initdb's time.
    run(
      user,
      path.join(bin, "initdb"),
      ["-D", data, "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
      "initdb",
    );
    // Settings go in the config file, not on pg_ctl's command line: resume() starts it the same way.
    const conf = Object.entries(settings).map(([k, v]) => `${k} = ${sqlString(typeof v === "boolean" ? (v ? "on" : "off") : v)}`);
    writeFileSync(path.join(data, "postgresql.auto.conf"), `${conf.join("\n")}\n`, { flag: "a" });
    startServer();
  } catch (err) {
    onExit();
    stopped = true;
    process.off("exit", onExit);
    throw err;
  }

  const urlFor = (db: string) => `postgres://${USER}@localhost:${port}/${db}?path=${encodeURIComponent(socket)}`;
  // Made again after halt()/resume(): its connection died with the server.
  let admin: Bun.SQL | null = null;
  const adminSql = () => (admin ??= new Bun.SQL(urlFor("postgres"), { max: 1 }));
  const closeAdmin = async () => {
    const a = admin;
    admin = null;
    await a?.close().catch(() => {});
  };
  await adminSql().unsafe(`CREATE DATABASE ${DATABASE}`);
  // PostgreSQL 15 copies a template through the WAL by default: 230 ms a database here. As files
  // (its checkpoints are cheap without fsync), 30–50 ms.
  const [{ v }] = (await adminSql()`SELECT current_setting('server_version_num')::int AS v`) as [{ v: number }];
  const strategy = v >= 150000 ? " STRATEGY FILE_COPY" : "";
  let made = 0;

  return {
    url: urlFor(DATABASE),
    tcpUrl: tcpPort ? `postgres://${USER}@127.0.0.1:${tcpPort}/${DATABASE}` : null,
    dir,
    socket,
    urlFor,
    async createDatabase(name, template = "template0") {
      const db = name ?? `t${process.pid}_${++made}`;
      for (const id of [db, template]) {
        if (!IDENTIFIER.test(id)) throw new Error(`createDatabase: "${id}" is not a plain lower-case identifier`);
      }
      await adminSql().unsafe(`CREATE DATABASE ${db} TEMPLATE ${template}${strategy}`);
      return urlFor(db);
    },
    async halt() {
      await closeAdmin();
      run(user, path.join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"], "pg_ctl stop");
    },
    async resume() {
      startServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", onExit);
      watchdog.cancel();
      await closeAdmin();
      const pid = postmasterPid(dir);
      if (pid !== null) {
        process.kill(pid, "SIGQUIT");
        const deadline = Date.now() + 10_000;
        while (alive(pid) && Date.now() < deadline) await Bun.sleep(10);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    logTail,
  };
}
