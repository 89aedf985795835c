// What stops a test PostgreSQL whose owner is gone (pg-server.ts): the process checks, and a
// watchdog that outlives the owner. pg_ctl detaches the server (its own session), so neither
// SIGKILL of the owner nor ^C reaches it; the watchdog, a shell loop in a session of its own,
// polls the owner once a second and, when it is gone, stops the server (SIGQUIT: immediate
// shutdown) and removes its folder. A normal stop() cancels the watchdog first.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/** Every test server's folder is <tmp>/hookd-pg-XXXXXX. */
export const PREFIX = "hookd-pg-";

/**
 * Whether a process still runs. A zombie does not: the daemonized postmaster is reaped by
 * PID 1, and some container inits reap only every second or two.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The postmaster's pid from data/postmaster.pid, when that process is still a postgres. */
export function postmasterPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(path.join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    // A recycled pid is someone else's process: signal it only if it is a postgres.
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    return comm === "postgres" || comm === "postmaster" ? pid : null;
  } catch {
    return null;
  }
}

/** Immediate shutdown (SIGQUIT: no checkpoint, children told to exit), then waits up to `waitMs` for it to be gone. */
export function killServerSync(dir: string, waitMs: number): void {
  const pid = postmasterPid(dir);
  if (pid === null) return;
  try {
    process.kill(pid, "SIGQUIT");
  } catch {
    return;
  }
  const deadline = Date.now() + waitMs;
  while (alive(pid) && Date.now() < deadline) Bun.sleepSync(10);
}

// $1: the owner's pid, $2: the server's folder. The same checks as alive() and postmasterPid().
const WATCHDOG = `
owner=$1 dir=$2
case "$dir" in */${PREFIX}*) ;; *) exit 2 ;; esac
running() { st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; st=\${st##*") "}; [ "\${st%% *}" != Z ]; }
while running "$owner"; do sleep 1; done
[ -d "$dir" ] || exit 0
pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
comm=$(cat "/proc/$pid/comm" 2>/dev/null)
if [ -n "$pid" ] && { [ "$comm" = postgres ] || [ "$comm" = postmaster ]; }; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while running "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
rm -rf "$dir"
`;

/** Starts the watchdog of `dir`'s server for the process `owner`; cancel() ends it (and its sleep). */
export function startWatchdog(owner: number, dir: string): { pid: number; cancel(): void } {
  const child = spawn("sh", ["-c", WATCHDOG, "hookd-pg-watchdog", String(owner), dir], { detached: true, stdio: "ignore" });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the test PostgreSQL's watchdog (sh)");
  let cancelled = false;
  return {
    pid,
    cancel() {
      if (cancelled) return;
      cancelled = true;
      try {
        // Its own process group (detached): the shell and the sleep it waits on.
        process.kill(-pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    },
  };
}
