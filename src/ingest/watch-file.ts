// Wakes a tailer's caller when its file may have changed: fs.watch on the file's directory
// (it sees the file replaced, not only written), and a timer as the fallback for
// filesystems without notifications and for the tailer's own deadlines (rotateWaitMs). The
// watch is retried on each tick while the directory is missing or the watch failed.

import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

export type WatchOptions = { intervalMs?: number };

/** Calls onChange on changes to `path` (or files named like it) and every intervalMs (250). Returns stop(). */
export function watchFile(path: string, onChange: () => void, opts: WatchOptions = {}): () => void {
  const dir = dirname(path);
  const base = basename(path);
  let watcher: FSWatcher | null = null;
  let stopped = false;

  const unwatch = () => {
    watcher?.close();
    watcher = null;
  };
  const tryWatch = () => {
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (!stopped && (name == null || String(name).startsWith(base))) onChange();
      });
      watcher.on("error", unwatch);
    } catch {
      watcher = null;
    }
  };

  tryWatch();
  const timer = setInterval(() => {
    if (stopped) return;
    if (!watcher) tryWatch();
    onChange();
  }, opts.intervalMs ?? 250);

  return () => {
    stopped = true;
    clearInterval(timer);
    unwatch();
  };
}
