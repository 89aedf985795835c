// Poll until a condition holds, for effects that happen on another loop (the dispatcher,
// the tailer). Always bounded: a broken condition fails the test with its last error.

export type EventuallyOptions = { timeoutMs?: number; intervalMs?: number };

/** Resolves with fn's first truthy result; fn may throw (e.g. expect) while not ready. */
export async function eventually<T>(fn: () => T | Promise<T>, opts: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = null;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await Bun.sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const why = lastError instanceof Error ? lastError.message : lastError === null ? "condition stayed falsy" : String(lastError);
  throw new Error(`eventually: not within ${timeoutMs}ms: ${why}`, { cause: lastError });
}
