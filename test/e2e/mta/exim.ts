// A private, real Exim on loopback for end-to-end tests, beside Postfix on the same machine.
//
// Debian's exim4-daemon-light and postfix conflict as packages (both provide
// mail-transport-agent), so .ci/install-mta.sh unpacks Exim's packages with `dpkg -x` into
// /opt/hookd-exim (override: HOOKD_EXIM_ROOT) instead of installing them. This harness runs
// that binary with its own config (-C), spool directory and log directory under a temp dir.
//
// Privileges: Exim drops root for a -C config that is not listed in its compiled-in
// TRUSTED_CONFIG_LIST (Debian: /etc/exim4/trusted_configs), and then logs "exim user lost
// privilege for using -C option" for every process, which no production log has. So the
// harness (root) adds its config's path to that list while it runs and removes it on stop;
// the binary then behaves exactly as an installed Exim does. The config is root-owned and
// not writable by others, as Exim requires.
//
// Network: only 127.0.0.1. The daemon listens on 127.0.0.1:<free port>; sink.test and
// refused.test are routed by manualroute routers to 127.0.0.1 (the sink's port / a closed
// port); local.test only has an alias; nothing else routes (no dnslookup router), so an
// unknown domain bounces locally as "Unrouteable address". No DNS: host_lookup and
// rfc1413_hosts are empty, hosts are IP literals, primary_hostname is set.
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startSmtpSink, type SmtpSink } from "./smtp-sink.ts";
import { buildMessage, submitSmtp } from "./smtp-client.ts";
import {
  LogWatcher,
  MtaMissingError,
  freePort,
  makeTempDir,
  newMessageId,
  passwdId,
  removeDir,
  requireFiles,
  requireRoot,
  run,
  userExists,
  type LinePredicate,
  type MailInput,
  type MtaHarness,
  type SmtpSubmitted,
  type Submitted,
} from "./common.ts";

export const EXIM_ROOT = process.env.HOOKD_EXIM_ROOT ?? "/opt/hookd-exim";
export const EXIM_BIN = join(EXIM_ROOT, "usr/sbin/exim4");
/** Exim's compiled-in TRUSTED_CONFIG_LIST in Debian's build (see `exim4 -d -bV`). */
export const EXIM_TRUSTED_CONFIG_LIST = "/etc/exim4/trusted_configs";
/** Debian's build looks this user up before reading any config. */
export const EXIM_USER = "Debian-exim";

/** Throws (naming the package and .ci/install-mta.sh) when the unpacked Exim is missing. */
export function requireExim(): void {
  requireFiles([
    {
      path: EXIM_BIN,
      what: `Exim (${EXIM_BIN})`,
      pkg: "exim4-daemon-light (unpacked with dpkg -x, not installed: it conflicts with postfix)",
    },
  ]);
  if (!userExists(EXIM_USER)) {
    throw new MtaMissingError(`Exim's user ${EXIM_USER}`, "exim4-base (its postinst creates the user)", `no user ${EXIM_USER}`);
  }
  requireRoot("the Exim");
}

export type EximOptions = {
  /** Relay sink.test to this sink; by default the harness starts (and stops) its own. */
  sink?: SmtpSink;
  /** log_selector value, e.g. "+deliver_time +delivery_size"; Exim's defaults when absent. */
  logSelector?: string;
  startTimeoutMs?: number;
  /** Routers put before the harness's own (first match wins), e.g. one with a transport_filter. */
  routers?: (ports: { sinkPort: number }) => string[];
  /** Transports added after the harness's own. */
  transports?: (ports: { sinkPort: number }) => string[];
};

export type EximHarness = MtaHarness & {
  readonly kind: "exim";
  readonly configPath: string;
  /** Run the exim binary with this instance's config and extra arguments. */
  exim(args: string[], opts?: { stdin?: string; allowFail?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `exim -bp` output. */
  queueListing(): Promise<string>;
};

function eximConf(
  dir: string,
  o: { smtpPort: number; sinkPort: number; refusedPort: number; logSelector?: string; routers?: string[]; transports?: string[] },
): string {
  return [
    "# hookd e2e test instance (written by test/e2e/mta/exim.ts)",
    "primary_hostname = mx.hookd.test",
    "qualify_domain = hookd.test",
    "domainlist local_domains = local.test",
    "hostlist relay_from_hosts = <; 127.0.0.1",
    `exim_path = ${EXIM_BIN}`,
    `spool_directory = ${join(dir, "spool")}`,
    `log_file_path = ${join(dir, "log")}/%slog`,
    `pid_file_path = ${join(dir, "exim.pid")}`,
    ...(o.logSelector ? [`log_selector = ${o.logSelector}`] : []),
    `daemon_smtp_ports = ${o.smtpPort}`,
    "local_interfaces = <; 127.0.0.1",
    "disable_ipv6 = true",
    "host_lookup =",
    "rfc1413_hosts =",
    "tls_advertise_hosts =",
    "keep_environment =",
    "never_users = root",
    "acl_smtp_rcpt = acl_check_rcpt",
    "acl_smtp_data = acl_check_data",
    "timeout_frozen_after = 1h",
    "",
    "begin acl",
    "acl_check_rcpt:",
    "  deny    recipients = blocked@sink.test",
    "          message = 5.7.1 recipient blocked by policy",
    "  accept  hosts = +relay_from_hosts",
    "  deny    message = relay not permitted",
    "acl_check_data:",
    "  accept",
    "",
    "begin routers",
    ...(o.routers ?? []),
    "sink:",
    "  driver = manualroute",
    "  domains = sink.test",
    "  transport = sink_smtp",
    "  route_list = * 127.0.0.1 byname",
    "  self = send",
    "  no_more",
    "refused:",
    "  driver = manualroute",
    "  domains = refused.test",
    "  transport = refused_smtp",
    "  route_list = * 127.0.0.1 byname",
    "  self = send",
    "  no_more",
    "aliases:",
    "  driver = redirect",
    "  domains = +local_domains",
    `  data = \${lookup{$local_part}lsearch{${join(dir, "aliases")}}}`,
    "  no_more",
    "",
    "begin transports",
    // Two transports, not one with an expanded port: Exim batches the addresses that go to
    // one host list through one transport call, whatever their domains.
    "sink_smtp:",
    "  driver = smtp",
    `  port = ${o.sinkPort}`,
    "  allow_localhost",
    "  hosts_avoid_tls = *",
    "  connect_timeout = 5s",
    "refused_smtp:",
    "  driver = smtp",
    `  port = ${o.refusedPort}`,
    "  allow_localhost",
    "  hosts_avoid_tls = *",
    "  connect_timeout = 5s",
    ...(o.transports ?? []),
    "",
    "begin retry",
    // expire*@sink.test gives up one second after its first failure, so the next attempt
    // logs "retry timeout exceeded"; everything else keeps Debian's default rule.
    "^expire[^@]*@sink\\.test * F,1s,1s",
    "* * F,2h,15m; G,16h,1h,1.5; F,4d,6h",
    "",
    "begin rewrite",
    "",
  ].join("\n");
}

function trustConfig(path: string): void {
  mkdirSync("/etc/exim4", { recursive: true });
  const cur = existsSync(EXIM_TRUSTED_CONFIG_LIST) ? readFileSync(EXIM_TRUSTED_CONFIG_LIST, "utf8") : "";
  if (!cur.split("\n").includes(path)) appendFileSync(EXIM_TRUSTED_CONFIG_LIST, `${path}\n`);
  chmodSync(EXIM_TRUSTED_CONFIG_LIST, 0o644);
}

function untrustConfig(path: string): void {
  if (!existsSync(EXIM_TRUSTED_CONFIG_LIST)) return;
  const lines = readFileSync(EXIM_TRUSTED_CONFIG_LIST, "utf8")
    .split("\n")
    .filter((l) => l && l !== path);
  writeFileSync(EXIM_TRUSTED_CONFIG_LIST, lines.length ? lines.join("\n") + "\n" : "");
}

export async function eximVersion(): Promise<string> {
  const out = await run([EXIM_BIN, "-C", "/dev/null", "-bV"], { allowFail: true });
  return /Exim version (\S+)/.exec(out.stdout)?.[1] ?? "unknown";
}

export async function startExim(opts: EximOptions = {}): Promise<EximHarness> {
  requireExim();
  const ownSink = !opts.sink;
  const sink = opts.sink ?? (await startSmtpSink());
  const dir = makeTempDir("hookd-exim-");
  const configPath = join(dir, "exim.conf");
  const smtpPort = freePort();
  const refusedPort = freePort();
  const logPath = join(dir, "log", "mainlog");
  const log = new LogWatcher(logPath, "exim");
  const version = await eximVersion();
  let daemon: Subprocess | null = null;
  let stopped = false;

  const ex = passwdId(EXIM_USER);
  for (const sub of ["spool", "log"]) {
    mkdirSync(join(dir, sub));
    chownSync(join(dir, sub), ex.uid, ex.gid);
  }
  writeFileSync(join(dir, "aliases"), "alias: ok-alias@sink.test\n");
  const ports = { sinkPort: sink.port };
  writeFileSync(
    configPath,
    eximConf(dir, {
      smtpPort,
      sinkPort: sink.port,
      refusedPort,
      logSelector: opts.logSelector,
      routers: opts.routers?.(ports),
      transports: opts.transports?.(ports),
    }),
    {
      mode: 0o644,
    },
  );
  trustConfig(configPath);

  const exim = (args: string[], o: { stdin?: string; allowFail?: boolean } = {}) =>
    run([EXIM_BIN, "-C", configPath, ...args], { stdin: o.stdin, allowFail: o.allowFail, timeoutMs: 30_000 });

  const cleanup = async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill("SIGTERM");
      await Promise.race([daemon.exited, Bun.sleep(5_000)]);
      if (daemon.exitCode === null) daemon.kill("SIGKILL");
    }
    untrustConfig(configPath);
    if (ownSink) await sink.stop();
    removeDir(dir);
  };

  try {
    // -bdf: the daemon stays in the foreground as our child, so stop() owns its pid.
    daemon = Bun.spawn([EXIM_BIN, "-C", configPath, "-bdf"], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    await Promise.race([
      // logged once the listening socket is bound
      log.waitFor(/exim \S+ daemon started: pid=\d+.*listening for SMTP on/, opts.startTimeoutMs ?? 20_000),
      daemon.exited.then(async (code) => {
        const err = daemon?.stderr instanceof ReadableStream ? await new Response(daemon.stderr).text() : "";
        throw new Error(`exim daemon exited with ${code}: ${err.trim()}`);
      }),
    ]);
  } catch (err) {
    const tail = log.tail(20);
    const panic = existsSync(join(dir, "log", "paniclog")) ? readFileSync(join(dir, "log", "paniclog"), "utf8") : "";
    await cleanup();
    throw new Error(
      `exim did not start: ${(err as Error).message}${tail ? `\nmainlog:\n${tail}` : ""}${panic ? `\npaniclog:\n${panic}` : ""}`,
    );
  }

  const harness: EximHarness = {
    kind: "exim",
    version,
    logPath,
    log,
    sink,
    smtpPort,
    refusedPort,
    dir,
    configPath,
    exim,

    async sendMail(m: MailInput): Promise<Submitted> {
      const messageId = m.messageId ?? newMessageId(m.subject);
      const since = log.mark();
      // Like sendmail(8): -odi delivers in the foreground, so the attempt is over on return.
      await exim(["-odi", "-oi", "-f", m.from, "--", ...m.to], { stdin: buildMessage({ ...m, messageId }) });
      const bare = messageId.replace(/^<|>$/g, "");
      const line = await log.waitFor((l) => l.includes(" <= ") && l.includes(` id=${bare}`), 15_000, since);
      const queueId = /^\S+ \S+ (\S+) <= /.exec(line)?.[1] ?? null;
      return { messageId, queueId };
    },

    async submitViaSmtp(m: MailInput): Promise<SmtpSubmitted> {
      const messageId = m.messageId ?? newMessageId(m.subject);
      const smtp = await submitSmtp({
        port: smtpPort,
        from: m.from,
        to: m.to,
        message: buildMessage({ ...m, messageId }),
      });
      const queueId = smtp.data ? (/id=(\S+)/.exec(smtp.data.text)?.[1] ?? null) : null;
      return { messageId, queueId, smtp };
    },

    async flushQueue() {
      // -qff: every message, frozen or not, ignoring retry times; returns when the run ends.
      await exim(["-qff"]);
    },

    async expire(queueId: string): Promise<string> {
      // The retry rule for expire*@sink.test (F,1s,1s) times out one second after the first
      // failure; a forced attempt after that bounces the address as "retry timeout exceeded".
      // Exim compares whole seconds (now - first_failed > 1), so wait a little over two.
      await Bun.sleep(2_100);
      const since = log.mark();
      await exim(["-M", queueId]);
      return log.waitFor(new RegExp(`^\\S+ \\S+ ${queueId} \\*\\* \\S+.*retry timeout exceeded`), 15_000, since);
    },

    waitForLog(pred: LinePredicate, timeoutMs?: number, since?: number) {
      return log.waitFor(pred, timeoutMs, since);
    },

    async queueListing() {
      return (await exim(["-bp"], { allowFail: true })).stdout;
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanup();
    },
  };
  return harness;
}
