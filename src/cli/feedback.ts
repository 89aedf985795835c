import os from "node:os";
import { ConfigError } from "../config/errors.ts";
import type { Config } from "../config/schema.ts";
import { intakeDeps } from "../feedback/intake.ts";
import { catchUp } from "../feedback/lookup-indexer.ts";
import { processMessage, TemporaryFailure } from "../feedback/process.ts";
import type { Store } from "../store/driver.ts";
import { connectStore, storeTarget } from "../store/open.ts";
import { flag, UsageError, type ParsedArgs } from "./args.ts";
import type { IO } from "./stdio.ts";

// `hookd feedback`: one message on stdin from a pipe transport (Postfix pipe(8), Exim's pipe
// transport), the envelope from argv. Exit 0 once its events are stored, or when it is no
// report or too large (counted in the line on stderr; a bounce of a bounce helps nobody);
// exit 75 (EX_TEMPFAIL: the MTA keeps the message and retries) whenever it could not be stored
// — the store busy, full or unreadable, the config unreadable. Only a wrong command line is 2.
//
// It opens the store beside a running `hookd serve` without taking serve's lock: SQLite's WAL
// lets a second connection write, waiting up to busy_timeout for serve's transactions; the
// events are appended with new seqs, and serve's delivery loop, which looks at the store at
// least once a second, sends them on its next pass.

export const EX_TEMPFAIL = 75;
/** How long one run may spend bringing the lookup index up to date before it matches (the rest is scanned). */
const INDEX_BUDGET_MS = 5000;

/** `stdin`: the message; Bun's stdin unless a test passes its own. */
export async function feedbackCommand(args: ParsedArgs, io: IO, stdin: ReadableStream<Uint8Array> = Bun.stdin.stream()): Promise<number> {
  const envelope = envelopeOf(args);
  let config: Config;
  try {
    config = (await import("../config/load.ts")).loadConfig({ path: flag(args, "--config") }).config;
  } catch (err) {
    // The MTA keeps the message while the operator fixes the file.
    io.err(
      `hookd feedback: ${err instanceof ConfigError ? `config error, message kept for a retry:\n${err.message}` : `cannot read the config: ${String(err)}`}\n`,
    );
    return EX_TEMPFAIL;
  }
  const read = await readCapped(stdin, config.feedback.max_size);
  if (read.tooLarge) {
    io.err(
      `hookd feedback: message of ${read.size} bytes is larger than feedback.max_size (${config.feedback.max_size}): not read, not stored (too_large)\n`,
    );
    return 0;
  }
  let store: Store;
  try {
    store = await connectStore(storeTarget(config.storage));
  } catch (err) {
    io.err(
      `hookd feedback: cannot open the store ${config.storage.driver === "postgres" ? "(PostgreSQL)" : config.storage.path}, message kept for a retry: ${(err as Error).message}\n`,
    );
    return EX_TEMPFAIL;
  }
  try {
    try {
      // The index only speeds matching up (what it has not reached is scanned instead), so
      // its steps wait for a busy store only briefly; the commit waits busy_timeout.
      await store.feedback.activateIndex();
      await catchUp(store, { budgetMs: INDEX_BUDGET_MS });
    } catch {
      // busy or read-only: matched by scanning
    }
    let stored = 0;
    const deps = intakeDeps({
      store,
      config: config.feedback,
      hostname: os.hostname(),
      onStored: (types) => (stored += types.length),
    });
    const outcome = await processMessage(read.bytes, envelope, deps);
    const n = outcome.events.length;
    const how =
      outcome.report.kind === "not_a_report"
        ? `not a report (${outcome.report.reason})`
        : `${outcome.report.kind}, matched by ${outcome.match.via}${outcome.match.own ? ", from our own MTA" : ""}`;
    const again = n > stored ? ` (${n - stored} already stored)` : "";
    io.err(`hookd feedback: ${how}: ${n} event${n === 1 ? "" : "s"}${again}\n`);
    return 0;
  } catch (err) {
    const why = err instanceof TemporaryFailure ? err.message : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`;
    io.err(`hookd feedback: ${why}; message kept for a retry\n`);
    return EX_TEMPFAIL;
  } finally {
    await store.close();
  }
}

/**
 * Postfix: `hookd feedback -- ${sender} ${recipient}` (with null_sender= the null sender is "";
 * without, Postfix writes MAILER-DAEMON), or --sender S --recipient R. With neither, Exim's pipe
 * transport environment: SENDER and RECIPIENT (Exim refuses the tainted $local_part@$domain in
 * a command's arguments, so the command line cannot carry them).
 */
export function envelopeOf(
  args: ParsedArgs,
  env: Record<string, string | undefined> = process.env,
): { mailFrom: string; rcptTo: string[] } {
  const [, ...positionals] = args.positionals;
  const sender = flag(args, "--sender");
  const recipient = flag(args, "--recipient");
  if ((sender !== undefined || recipient !== undefined) && positionals.length > 0) {
    throw new UsageError("feedback takes the envelope as SENDER RECIPIENT... or as --sender/--recipient, not both");
  }
  const fromEnv = sender === undefined && recipient === undefined && positionals.length === 0;
  const mailFrom = (sender ?? positionals[0] ?? (fromEnv ? env.SENDER : undefined) ?? "").replace(/^<(.*)>$/, "$1");
  const rcptTo = recipient !== undefined ? [recipient] : fromEnv ? (env.RECIPIENT ? [env.RECIPIENT] : []) : positionals.slice(1);
  return { mailFrom: /^mailer-daemon$/i.test(mailFrom) ? "" : mailFrom, rcptTo: rcptTo.map((r) => r.replace(/^<(.*)>$/, "$1")) };
}

/** The whole input, or only its size once it passes `max` (the rest is read and dropped, so the writer sees no broken pipe). */
export async function readCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ bytes: Uint8Array; size: number; tooLarge: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size <= max) chunks.push(chunk);
    else chunks.length = 0;
  }
  if (size > max) return { bytes: new Uint8Array(0), size, tooLarge: true };
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, size, tooLarge: false };
}
