import type { Store } from "../store/driver.ts";

// The tracked_messages rows of the mail path, group-committed. A row's id goes into mail that
// the MTA sends on as soon as the milter answers, so the row must be on disk by then: lost in a
// power cut, its id would be given again to the next message, and a bounce or an unsubscribe
// for the first would be credited to the second. So the store is opened durable (the default),
// and the rows asked for within one turn of the event loop (the messages of every MTA
// connection waiting at that moment) share one transaction and its one fsync.

export type RowWriter = {
  /** Resolves with the row's id once it is committed; rejects when the commit failed. */
  insert(data: string): Promise<number>;
  /** Commits what is waiting; later inserts are refused. */
  stop(): Promise<void>;
  stats(): { rows: number; commits: number; failed: number };
};

export function createRowWriter(store: Store, now: () => number = Date.now): RowWriter {
  let waiting: { data: string; resolve: (id: number) => void; reject: (e: Error) => void }[] = [];
  let scheduled: Promise<void> | null = null;
  // Commits under way (a flush's transaction may still be open when the next is scheduled).
  const flushing = new Set<Promise<void>>();
  let stopped = false;
  const stats = { rows: 0, commits: 0, failed: 0 };
  const commit = async (batch: typeof waiting) => {
    let ids: number[];
    try {
      ids = await store.tracking.insertMessages(
        batch.map((w) => w.data),
        now(),
      );
    } catch (err) {
      stats.failed += batch.length;
      for (const w of batch) w.reject(err as Error);
      return;
    }
    stats.rows += batch.length;
    stats.commits++;
    for (const [i, w] of batch.entries()) w.resolve(ids[i]!);
  };
  const flush = (): Promise<void> => {
    scheduled = null;
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return Promise.resolve();
    const p = commit(batch).finally(() => flushing.delete(p));
    flushing.add(p);
    return p;
  };

  return {
    insert(data) {
      if (stopped) return Promise.reject(new Error("the tracked-message writer has stopped"));
      return new Promise((resolve, reject) => {
        waiting.push({ data, resolve, reject });
        scheduled ??= new Promise<void>((done) => setImmediate(() => void flush().then(done)));
      });
    },
    async stop() {
      stopped = true;
      await scheduled;
      await flush();
      await Promise.all(flushing);
    },
    stats: () => ({ ...stats }),
  };
}
