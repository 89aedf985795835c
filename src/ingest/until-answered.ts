// A read that must eventually succeed (a source's saved position, while a fleet's database is
// down): tried again with a doubling wait, capped, until it answers or the caller stops.

export async function untilAnswered<T>(
  read: () => Promise<T>,
  opts: { firstMs: number; maxMs: number; stopping: () => boolean },
): Promise<T> {
  for (let wait = opts.firstMs; ; wait = Math.min(opts.maxMs, wait * 2)) {
    await Bun.sleep(wait);
    try {
      return await read();
    } catch (err) {
      if (opts.stopping()) throw err;
    }
  }
}
