// What the Postfix and Exim harnesses share: the check that the real MTA is installed (a
// missing one FAILS the tests, naming the package and the install script), a log-file
// watcher, loopback port helpers and a command runner.
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../../helpers/eventually.ts";
import type { SmtpSink } from "./smtp-sink.ts";
import type { SmtpSubmitResult } from "./smtp-client.ts";

export const INSTALL_HINT = "run `bash .ci/install-mta.sh` as root (CI's .ci/run does)";

export class MtaMissingError extends Error {
  constructor(what: string, pkg: string, detail: string) {
    super(`${what} is not available: ${detail}. It comes from the Debian package ${pkg}; ${INSTALL_HINT}.`);
    this.name = "MtaMissingError";
  }
}

export type Requirement = { path: string; what: string; pkg: string };

/** Throws MtaMissingError for the first requirement whose file is missing. */
export function requireFiles(reqs: Requirement[]): void {
  for (const r of reqs) {
    if (!existsSync(r.path)) throw new MtaMissingError(r.what, r.pkg, `${r.path} not found`);
  }
}

export function requireRoot(what: string): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`${what} harness must run as root (it runs a private MTA instance with its own spool); CI runs as root`);
  }
}

export function userExists(name: string): boolean {
  try {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .some((l) => l.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** uid/gid of a system user, from /etc/passwd. */
export function passwdId(name: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`user ${name} not found (the MTA's package creates it); ${INSTALL_HINT}`);
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** A fresh directory under the system temp dir, mode 0755 so the MTA's own users can reach it. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeDir(dir: string): void {
  if (process.env.HOOKD_KEEP_MTA_DIRS === "1") {
    console.error(`(kept ${dir}: HOOKD_KEEP_MTA_DIRS=1)`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

/** A loopback port that nothing listens on right now (bound, then released). */
export function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const listening = () =>
    new Promise<boolean>((resolve) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.end();
            resolve(true);
          },
          data() {},
          error() {
            resolve(false);
          },
          connectError() {
            resolve(false);
          },
        },
      }).catch(() => resolve(false));
    });
  await eventually(async () => (await listening()) || Promise.reject(new Error(`${what}: nothing listening on 127.0.0.1:${port}`)), {
    timeoutMs,
    intervalMs: 50,
  });
}

export type RunResult = { code: number; stdout: string; stderr: string };

/** Run a command to completion; throws with its output when it exits non-zero (unless allowFail). */
export async function run(
  argv: string[],
  opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number; allowFail?: boolean } = {},
): Promise<RunResult> {
  const proc = Bun.spawn(argv, {
    env: { ...process.env, ...opts.env },
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const timer = setTimeout(() => proc.kill(9), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0 && !opts.allowFail) {
    throw new Error(`command failed (exit ${code}): ${argv.join(" ")}\n${stdout}${stderr}`.trimEnd());
  }
  return { code, stdout, stderr };
}

export type LinePredicate = RegExp | string | ((line: string) => boolean);

function toTest(p: LinePredicate): (line: string) => boolean {
  if (typeof p === "function") return p;
  if (typeof p === "string") return (l) => l.includes(p);
  return (l) => {
    p.lastIndex = 0;
    return p.test(l);
  };
}

/** Watches a log file that an MTA appends to. */
export class LogWatcher {
  constructor(
    readonly path: string,
    private readonly label: string,
  ) {}

  /** All complete lines so far ([] while the file does not exist). */
  lines(): string[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path, "latin1");
    const lines = text.split("\n");
    lines.pop(); // the part after the last newline is incomplete (or empty)
    return lines;
  }

  /** Number of complete lines now: pass it as `since` to only look at lines written later. */
  mark(): number {
    return this.lines().length;
  }

  tail(n = 40): string {
    return this.lines().slice(-n).join("\n");
  }

  /**
   * Resolves with the first line (from line index `since`) that matches; rejects after
   * timeoutMs with the log's last lines in the message.
   */
  async waitFor(pred: LinePredicate, timeoutMs = 15_000, since = 0): Promise<string> {
    const test = toTest(pred);
    const found = await eventually(
      () => {
        const hit = this.lines().slice(since).find(test);
        if (hit === undefined)
          throw new Error(`${this.label}: no log line matching ${String(pred)} in ${this.path}; last lines:\n${this.tail()}`);
        return { hit };
      },
      { timeoutMs, intervalMs: 50 },
    );
    return found.hit;
  }

  /** Resolves with all matching lines once there are at least `count`. */
  async waitForCount(pred: LinePredicate, count: number, timeoutMs = 15_000, since = 0): Promise<string[]> {
    const test = toTest(pred);
    return eventually(
      () => {
        const hits = this.lines().slice(since).filter(test);
        if (hits.length < count) {
          throw new Error(
            `${this.label}: ${hits.length}/${count} log lines matching ${String(pred)} in ${this.path}; last lines:\n${this.tail()}`,
          );
        }
        return hits;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }
}

export type MailInput = {
  from: string;
  to: string[];
  subject: string;
  /** With angle brackets; generated when absent. */
  messageId?: string;
  body?: string;
};

export type Submitted = {
  /** With angle brackets, as in the Message-ID header. */
  messageId: string;
  /** The MTA's queue id (Postfix) or message id (Exim) for the accepted message, if any. */
  queueId: string | null;
};

export type SmtpSubmitted = Submitted & { smtp: SmtpSubmitResult };

/** What both harnesses offer; scenarios.ts drives either through it. */
export interface MtaHarness {
  readonly kind: "postfix" | "exim";
  /** e.g. "3.7.11" or "4.96". */
  readonly version: string;
  /** The MTA's log file (Postfix maillog_file; Exim mainlog). */
  readonly logPath: string;
  readonly log: LogWatcher;
  /** The SMTP sink sink.test is routed to. */
  readonly sink: SmtpSink;
  /** Port the MTA's own SMTP server listens on (127.0.0.1). */
  readonly smtpPort: number;
  /** Closed port refused.test is routed to. */
  readonly refusedPort: number;
  /** Private directory holding config, spool and logs. */
  readonly dir: string;
  /** Local submission (Postfix sendmail → pickup; Exim -bm). Resolves once the MTA logged the message's queue id. */
  sendMail(m: MailInput): Promise<Submitted>;
  /** One SMTP transaction with the MTA's own SMTP server (where policy rejections happen). */
  submitViaSmtp(m: MailInput): Promise<SmtpSubmitted>;
  /** Retry every deferred message now. */
  flushQueue(): Promise<void>;
  /** Make the given deferred message expire now: its next attempt fails and it is returned
   *  to the sender with the MTA's "expired" log line. Resolves once that line is logged. */
  expire(queueId: string): Promise<string>;
  /** First log line matching the predicate (optionally only lines after a mark()). */
  waitForLog(pred: LinePredicate, timeoutMs?: number, since?: number): Promise<string>;
  stop(): Promise<void>;
}

let seq = 0;
export function newMessageId(tag: string): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return `<${tag.replace(/[^A-Za-z0-9.-]/g, "-")}.${Date.now().toString(36)}.${++seq}.${rand}@hookd.test>`;
}
