import { appendFileSync, existsSync } from "node:fs";
import os from "node:os";
import type { Config } from "../config/schema.ts";
import { applyHeaderEdits } from "../mail/header-edits.ts";
import { splitMessage } from "../mail/headers.ts";
import type { Store } from "../store/driver.ts";
import { connectStore, storeTarget } from "../store/open.ts";
import { keyringSource } from "../track/keystore.ts";
import { trackMail, type MailOutcome } from "../track/mail-tracker.ts";
import { parseArgs, flag, UsageError } from "./args.ts";

// `hookd rewrite --rcpt ADDR [--queue-id ID]`: one message on stdin, the same message tracked
// on stdout — Exim's transport_filter on an smtp transport of its own (Exim delivers one
// recipient per transport call there, so links are per recipient). The rules are the milter's
// (track/mail-tracker.ts, `[milter] track`); the envelope sender is Exim's to set, so no VERP.
//
// Never break mail: whatever goes wrong — bad arguments, a config that does not load, a store
// that cannot be opened or is busy past its timeout, a message that cannot be rewritten — the
// message goes out byte for byte as it came and the exit code is 0 (Exim would defer the
// delivery on any other). Why is said in one line: appended to `--log FILE` when given, and on
// stderr unless stderr is stdout — Exim gives a transport filter one pipe for both, and a line
// there would end up inside the message. The store is opened beside a running `hookd serve`
// (SQLite WAL, busy_timeout), without serve's lock; the one write is the message's
// tracked_messages row when it needs one.
//
// Recipients: `--rcpt ADDR`; further arguments are more recipients (Exim's $pipe_addresses,
// which is not tainted, expands to one argument per address: one with max_rcpt = 1).

export type RewriteIO = {
  /** The whole message from stdin. */
  input(): Promise<Uint8Array>;
  output(bytes: Uint8Array): Promise<void>;
  err(s: string): void;
};

export type RewriteResult = { output: Uint8Array; outcome: MailOutcome | null; problem: string | null };

const OPTIONS = ["--rcpt", "--queue-id", "--config", "--log", "--help"] as const;

/** The exit code is always 0: on any failure the message went out unchanged. */
export async function rewriteCommand(
  argv: readonly string[],
  io: RewriteIO,
  loadConfig: (path: string | undefined) => Config,
): Promise<number> {
  const input = await io.input();
  const r = await rewriteMessage(argv, input, loadConfig);
  await io.output(r.output);
  if (r.problem) {
    const line = `hookd rewrite: ${r.problem}; the message passed unchanged\n`;
    io.err(line);
    const log = logPath(argv);
    if (log) {
      try {
        appendFileSync(log, `${new Date().toISOString()} ${queueIdOf(argv) ?? "-"} ${line}`);
      } catch {
        // nowhere left to say it; the message went out all the same
      }
    }
  }
  return 0;
}

// Read leniently, so that a line can be logged even when the other arguments are wrong.
const argValue = (argv: readonly string[], name: string) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i]!.includes("=") ? argv[i]!.slice(name.length + 1) : argv[i + 1];
};
const logPath = (argv: readonly string[]) => argValue(argv, "--log");
const queueIdOf = (argv: readonly string[]) => argValue(argv, "--queue-id");

export async function rewriteMessage(
  argv: readonly string[],
  input: Uint8Array,
  loadConfig: (path: string | undefined) => Config,
): Promise<RewriteResult> {
  const unchanged = (problem: string | null, outcome: MailOutcome | null = null): RewriteResult => ({ output: input, outcome, problem });
  let store: Store | null = null;
  try {
    const args = parseArgs(argv, OPTIONS);
    const first = flag(args, "--rcpt");
    if (!first) throw new UsageError("--rcpt ADDR is required (Exim: --rcpt $pipe_addresses)");
    const rcpts = [first, ...args.positionals];
    const bad = rcpts.find((r) => !/^[^\s@<>]+@[^\s@<>]+$/.test(r));
    if (bad !== undefined) throw new UsageError(`"${bad}" is not a recipient address`);
    const queueId = flag(args, "--queue-id") ?? null;
    const config = loadConfig(flag(args, "--config"));
    if (config.milter.track === "off") return unchanged(null);
    const message = splitMessage(input);
    if (!message) return unchanged("the message has no empty line after its header");
    if (input.byteLength > config.milter.max_message_size)
      return unchanged(`the message is over milter.max_message_size (${config.milter.max_message_size} bytes)`);
    const path = config.storage.path;
    if (config.storage.driver === "sqlite" && (path === ":memory:" || !existsSync(path)))
      return unchanged(`no store at ${path}: start hookd serve with this config first`);
    store = await connectStore(storeTarget(config.storage), { max: 1 });
    const s = store;
    const t = config.tracking;
    const outcome = await trackMail(
      { header: message.header, body: message.body, queueId, mailFrom: "", rcptTo: rcpts },
      {
        mode: config.milter.track,
        settings: { baseUrl: t.base_url, opens: t.opens, clicks: t.clicks, unsubscribe: t.unsubscribe },
        host: config.sources.find((s) => s.format === "exim")?.host ?? os.hostname(),
        // Only for the List-Unsubscribe mailto address: a transport filter cannot change the envelope.
        verpDomain: config.feedback.verp,
        keyring: await keyringSource(s).get(),
        storeRow: async (data) => (await s.tracking.insertMessages([data], Date.now()))[0]!,
        now: Date.now(),
        limits: { maxBytes: config.milter.max_message_size, timeoutMs: config.milter.timeout },
      },
    );
    if (outcome.outcome === "unchanged") return unchanged(`${outcome.reason} (${outcome.detail})`, outcome);
    if (!outcome.edits) return unchanged(null, outcome);
    const header = applyHeaderEdits(message.header, outcome.edits.headers);
    return { output: Buffer.concat([header, outcome.edits.body ?? message.body]), outcome, problem: null };
  } catch (err) {
    return unchanged(err instanceof Error ? err.message.split("\n")[0]! : String(err));
  } finally {
    await store?.close();
  }
}
