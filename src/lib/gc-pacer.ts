// JSC lets a thread's heap grow far past what is live before it collects: reading a busy log,
// a thread's RSS climbed ~15 MB per 100k events (measured, memory bench). Full collections
// paced by the work done bound that garbage whatever the other threads hold (one thread
// cannot see its own heap's size: Bun reports 0 inside workers), and cost a few ms per
// ~100k lines; a burst's leftovers are collected once the thread goes quiet.

const QUIET_MS = 1000;

export function gcPacer(everyUnits: number) {
  let since = 0;
  let quiet: ReturnType<typeof setTimeout> | null = null;
  return {
    /** Counts work done (e.g. lines); collects once `everyUnits` have been done since the last time. */
    did(units: number) {
      since += units;
      if (since >= everyUnits) {
        since = 0;
        Bun.gc(true);
      }
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(() => {
        quiet = null;
        if (since > 0) {
          since = 0;
          Bun.gc(true);
        }
      }, QUIET_MS);
      (quiet as { unref?: () => void }).unref?.();
    },
    stop() {
      if (quiet) clearTimeout(quiet);
      quiet = null;
    },
  };
}
