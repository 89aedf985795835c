// A private, real Postfix instance on loopback for end-to-end tests.
//
// It is a second Postfix instance: its own config_directory, queue_directory and
// data_directory under a temp dir, started with `postfix -c DIR start` (no systemd needed),
// logging through postlogd to its own file (maillog_file, Postfix >= 3.4). The system
// instance (/etc/postfix) is neither configured nor touched.
//
// Network: only 127.0.0.1. smtpd listens on 127.0.0.1:<free port>; every destination is
// routed explicitly by transport_maps (sink.test → our SMTP sink, refused.test → a closed
// port) or delivered locally (local.test); everything else goes to the error transport.
// DNS is never used: smtp_dns_support_level = disabled (the successor of
// disable_dns_lookups), smtp_host_lookup = native, nexthops are IP literals, and smtpd does
// no reverse lookup of clients (smtpd_peername_lookup = no).
import { existsSync, mkdirSync, writeFileSync, chownSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../../helpers/eventually.ts";
import { startSmtpSink, type SmtpSink } from "./smtp-sink.ts";
import { buildMessage, submitSmtp } from "./smtp-client.ts";
import {
  LogWatcher,
  freePort,
  makeTempDir,
  newMessageId,
  passwdId,
  removeDir,
  requireFiles,
  requireRoot,
  run,
  type LinePredicate,
  type MailInput,
  type MtaHarness,
  type SmtpSubmitted,
  type Submitted,
} from "./common.ts";

export const POSTFIX = {
  postfix: "/usr/sbin/postfix",
  postconf: "/usr/sbin/postconf",
  postqueue: "/usr/sbin/postqueue",
  postsuper: "/usr/sbin/postsuper",
  sendmail: "/usr/sbin/sendmail",
  postlogd: "/usr/lib/postfix/sbin/postlogd",
} as const;

/** Throws (naming the package and .ci/install-mta.sh) when Postfix is not installed. */
export function requirePostfix(): void {
  requireFiles([
    { path: POSTFIX.postfix, what: "Postfix (postfix)", pkg: "postfix" },
    { path: POSTFIX.postconf, what: "Postfix (postconf)", pkg: "postfix" },
    { path: POSTFIX.postqueue, what: "Postfix (postqueue)", pkg: "postfix" },
    { path: POSTFIX.postlogd, what: "Postfix's postlogd (logging to a file)", pkg: "postfix" },
    { path: POSTFIX.sendmail, what: "Postfix's sendmail", pkg: "postfix" },
  ]);
  requireRoot("the Postfix");
  // Postfix's sendmail is a file of its own; another MTA's is a symlink to that MTA.
  if (!realpathSync(POSTFIX.sendmail).endsWith("/sendmail")) {
    throw new Error(
      `${POSTFIX.sendmail} is not Postfix's sendmail (it points to ${realpathSync(POSTFIX.sendmail)}); run \`bash .ci/install-mta.sh\` as root`,
    );
  }
}

export type PostfixOptions = {
  /** Relay sink.test to this sink; by default the harness starts (and stops) its own. */
  sink?: SmtpSink;
  /** Extra main.cf lines, appended last. */
  mainCf?: string[];
  /** Time to wait for the instance to come up. */
  startTimeoutMs?: number;
};

export type PostfixHarness = MtaHarness & {
  readonly kind: "postfix";
  readonly configDir: string;
  /** `postconf -c DIR -e k=v ...` then reload (SIGHUP to master). */
  postconf(settings: Record<string, string>): Promise<void>;
  reload(): Promise<void>;
  /** `postqueue -p` output. */
  queueListing(): Promise<string>;
};

const MASTER_CF = (smtpPort: number) =>
  `# hookd e2e test instance: nothing chrooted (no copies of /etc in the spool needed)
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:${smtpPort} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/** Queue lifetimes in normal operation; expire() lowers them for one message. */
const NORMAL_LIFETIMES = { maximal_queue_lifetime: "1d", bounce_queue_lifetime: "1d" };

function mainCf(dir: string, sinkPort: number, refusedPort: number, extra: string[]): string {
  const etc = join(dir, "etc");
  return [
    "# hookd e2e test instance (written by test/e2e/mta/postfix.ts)",
    "compatibility_level = 3.6",
    `queue_directory = ${join(dir, "spool")}`,
    `data_directory = ${join(dir, "data")}`,
    `maillog_file = ${join(dir, "maillog")}`,
    `maillog_file_prefixes = ${dir}`,
    "myhostname = mx.hookd.test",
    "mydomain = hookd.test",
    "myorigin = $myhostname",
    "mydestination = local.test",
    "inet_interfaces = 127.0.0.1",
    "inet_protocols = ipv4",
    "mynetworks = 127.0.0.0/8",
    "append_dot_mydomain = no",
    "biff = no",
    // No DNS, ever.
    "smtp_dns_support_level = disabled",
    "smtp_host_lookup = native",
    "lmtp_host_lookup = native",
    "smtp_bind_address = 127.0.0.1",
    "smtpd_peername_lookup = no",
    "smtp_connect_timeout = 5s",
    // Every destination explicit; anything else fails at once, locally.
    `transport_maps = texthash:${etc}/transport`,
    "default_transport = error:5.3.0 the hookd test instance delivers only to sink.test, refused.test and local.test",
    "relay_transport = $default_transport",
    `alias_maps = texthash:${etc}/aliases`,
    "alias_database =",
    `smtpd_recipient_restrictions = check_recipient_access texthash:${etc}/recipient_access, permit_mynetworks, reject_unauth_destination`,
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
    `maximal_queue_lifetime = ${NORMAL_LIFETIMES.maximal_queue_lifetime}`,
    `bounce_queue_lifetime = ${NORMAL_LIFETIMES.bounce_queue_lifetime}`,
    ...extra,
    "",
  ].join("\n");
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose parent is `ppid` (Linux /proc). */
function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      // pid (comm) state ppid ...: comm may contain spaces, so parse after the last ")"
      const ppidField = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
      if (Number(ppidField) === ppid) out.push(Number(name));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

export async function postfixVersion(): Promise<string> {
  return (await run([POSTFIX.postconf, "-d", "-h", "mail_version"])).stdout.trim();
}

export async function startPostfix(opts: PostfixOptions = {}): Promise<PostfixHarness> {
  requirePostfix();
  const ownSink = !opts.sink;
  const sink = opts.sink ?? (await startSmtpSink());
  const dir = makeTempDir("hookd-postfix-");
  const etc = join(dir, "etc");
  const configDir = etc;
  const env = { MAIL_CONFIG: etc };
  const smtpPort = freePort();
  const refusedPort = freePort();
  const logPath = join(dir, "maillog");
  const log = new LogWatcher(logPath, "postfix");
  let masterPid = 0;
  let stopped = false;

  mkdirSync(etc);
  mkdirSync(join(dir, "spool"));
  mkdirSync(join(dir, "data"));
  const pf = passwdId("postfix");
  chownSync(join(dir, "data"), pf.uid, pf.gid);
  writeFileSync(join(etc, "main.cf"), mainCf(dir, sink.port, refusedPort, opts.mainCf ?? []));
  writeFileSync(join(etc, "master.cf"), MASTER_CF(smtpPort));
  writeFileSync(
    join(etc, "transport"),
    [`sink.test smtp:[127.0.0.1]:${sink.port}`, `refused.test smtp:[127.0.0.1]:${refusedPort}`, ""].join("\n"),
  );
  // texthash format is "key value" (postmap's), not aliases(5)'s "key: value".
  writeFileSync(join(etc, "aliases"), ["alias ok-alias@sink.test", ""].join("\n"));
  writeFileSync(join(etc, "recipient_access"), ["blocked@sink.test REJECT Access denied", ""].join("\n"));

  const cleanupAfterFailure = async () => {
    await run([POSTFIX.postfix, "-c", etc, "abort"], { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
    if (ownSink) await sink.stop();
    removeDir(dir);
  };

  try {
    await run([POSTFIX.postfix, "-c", etc, "start"], { env, timeoutMs: opts.startTimeoutMs ?? 30_000 });
    const started = await log.waitFor(/postfix\/master\[\d+\]: daemon started/, opts.startTimeoutMs ?? 30_000);
    // The master binds its listeners before it logs "daemon started".
    masterPid = Number(/master\[(\d+)\]/.exec(started)?.[1] ?? 0);
  } catch (err) {
    const tail = log.tail(20);
    await cleanupAfterFailure();
    throw new Error(`postfix did not start: ${(err as Error).message}${tail ? `\nmaillog:\n${tail}` : ""}`);
  }
  const version = /version (\S+),/.exec(log.lines().find((l) => l.includes("daemon started")) ?? "")?.[1] ?? (await postfixVersion());

  // A reload only takes effect once every child started under the old config has gone:
  // the master tells them to exit, but a busy qmgr can go on for seconds with the old
  // settings (seen: an old qmgr expiring messages after maximal_queue_lifetime was restored).
  const reload = async () => {
    const since = log.mark();
    const before = childPids(masterPid);
    process.kill(masterPid, "SIGHUP");
    await log.waitFor(/postfix\/master\[\d+\]: reload/, 10_000, since);
    await eventually(
      () => !before.some(pidAlive) || Promise.reject(new Error(`postfix reload: old processes ${before.filter(pidAlive)} still running`)),
      {
        timeoutMs: 15_000,
      },
    );
  };
  const postconf = async (settings: Record<string, string>) => {
    await run([POSTFIX.postconf, "-c", etc, "-e", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
    await reload();
  };

  const queueIdForMessageId = async (messageId: string, since: number): Promise<string> => {
    const line = await log.waitFor(`: message-id=${messageId}`, 15_000, since);
    const m = /postfix\/cleanup\[\d+\]: ([0-9A-Za-z]+): message-id=/.exec(line);
    if (!m?.[1]) throw new Error(`postfix: cannot read the queue id from: ${line}`);
    return m[1];
  };

  const harness: PostfixHarness = {
    kind: "postfix",
    version,
    logPath,
    log,
    sink,
    smtpPort,
    refusedPort,
    dir,
    configDir,

    async sendMail(m: MailInput): Promise<Submitted> {
      const messageId = m.messageId ?? newMessageId(m.subject);
      const since = log.mark();
      await run([POSTFIX.sendmail, "-i", "-f", m.from, "--", ...m.to], {
        env,
        stdin: buildMessage({ ...m, messageId }),
      });
      const queueId = await queueIdForMessageId(messageId, since);
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
      const queueId = smtp.data ? (/queued as ([0-9A-Za-z]+)/.exec(smtp.data.text)?.[1] ?? null) : null;
      return { messageId, queueId, smtp };
    },

    async flushQueue() {
      await run([POSTFIX.postqueue, "-c", etc, "-f"]);
    },

    async expire(queueId: string): Promise<string> {
      // Postfix expires a message when a delivery attempt fails and the message is older
      // than maximal_queue_lifetime: lower it, wait past it, retry just this message.
      await postconf({ maximal_queue_lifetime: "1s", bounce_queue_lifetime: "1s" });
      await Bun.sleep(1_100);
      const since = log.mark();
      await run([POSTFIX.postqueue, "-c", etc, "-i", queueId]);
      try {
        return await log.waitFor(new RegExp(`: ${queueId}: from=<[^>]*>, status=expired, returned to sender`), 15_000, since);
      } finally {
        await postconf(NORMAL_LIFETIMES);
      }
    },

    waitForLog(pred: LinePredicate, timeoutMs?: number, since?: number) {
      return log.waitFor(pred, timeoutMs, since);
    },

    postconf,
    reload,

    async queueListing() {
      return (await run([POSTFIX.postqueue, "-c", etc, "-p"], { allowFail: true })).stdout;
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      await run([POSTFIX.postfix, "-c", etc, "stop"], { env, allowFail: true, timeoutMs: 15_000 });
      await eventually(() => !(masterPid && pidAlive(masterPid)), { timeoutMs: 10_000, intervalMs: 50 }).catch(() => {});
      if (masterPid && pidAlive(masterPid)) {
        await run([POSTFIX.postfix, "-c", etc, "abort"], { env, allowFail: true });
      }
      // Children exit once the master is gone; give them a moment before removing the spool.
      await Bun.sleep(200);
      if (ownSink) await sink.stop();
      if (existsSync(dir)) removeDir(dir);
    },
  };
  return harness;
}
