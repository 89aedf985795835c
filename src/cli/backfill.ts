import { statSync } from "node:fs";
import type { Config } from "../config/schema.ts";
import type { Event } from "../events/schema.ts";
import { createLogParser } from "../ingest/parse/index.ts";
import { customTypesOf, eventRows } from "../store/event-rows.ts";
import { connectStore, storeTarget } from "../store/open.ts";
import { UsageError, type ParsedArgs } from "./args.ts";
import { formatFlag, openLines, summary } from "./parse.ts";
import { progressBar } from "./progress.ts";
import type { IO } from "./stdio.ts";

const COMMIT_EVERY = 5000;

/**
 * `hookd backfill FILE...`: ingest old logs once. Event ids are derived from the lines, so
 * running it again (or over lines hookd already tailed) stores nothing twice. The files are
 * read in the order given: give the oldest first, so messages correlate across them.
 */
export async function backfillCommand(args: ParsedArgs, config: Config, io: IO, isTty = Boolean(process.stderr.isTTY)): Promise<number> {
  const files = args.positionals.slice(1);
  if (files.length === 0) throw new UsageError("backfill needs at least one FILE");
  if (files.includes("-")) throw new UsageError("backfill reads files, not standard input; use a file path");
  let totalBytes = 0;
  for (const f of files) {
    try {
      totalBytes += statSync(f).size;
    } catch (err) {
      io.err(`hookd: ${f}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}\n`);
      return 1;
    }
  }
  const host = config.sources.find((s) => files.includes(s.path))?.host;
  const parser = createLogParser({ format: formatFlag(args), ...(host ? { host } : {}) });
  const store = await connectStore(storeTarget(config.storage));
  const bar = progressBar({ total: totalBytes, write: io.err, enabled: isTty, label: "backfill" });
  let inserted = 0;
  let duplicates = 0;
  let pending: Event[] = [];
  const flush = async (source: string) => {
    if (!pending.length) return;
    const r = await store.events.insert(eventRows(pending), customTypesOf(pending), `backfill:${source}`, Date.now());
    inserted += r.inserted;
    duplicates += r.duplicates;
    pending = [];
  };
  try {
    let doneBytes = 0;
    for (const [i, file] of files.entries()) {
      const compressed = file.endsWith(".gz");
      for await (const lines of openLines(file)) {
        for (const line of lines) {
          for (const e of parser.feed(line)) pending.push(e);
          if (!compressed) doneBytes += Buffer.byteLength(line) + 1;
        }
        if (pending.length >= COMMIT_EVERY) await flush(file);
        bar.update(doneBytes);
      }
      // After the last file: what the parser held back in case a later line named it a notice.
      if (i === files.length - 1) pending.push(...parser.flush());
      await flush(file);
      if (compressed) doneBytes += statSync(file).size;
      bar.update(doneBytes);
    }
  } catch (err) {
    bar.done();
    io.err(
      `hookd: backfill stopped: ${err instanceof Error ? err.message : String(err)} (${inserted} events stored so far; re-running is safe)\n`,
    );
    await store.close();
    return 1;
  }
  bar.done();
  await store.close();
  io.err(summary(parser, files.length));
  io.err(`${inserted} events stored, ${duplicates} already in the store\n`);
  return 0;
}
