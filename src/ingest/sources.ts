import type { SourceConfig } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Store } from "../store/driver.ts";
import { startSource, type IngestHooks, type ParserFactory, type SourceRunner, type SourceStatusView } from "./ingester.ts";

/** Every configured source; `apply` brings the running set in line with a (reloaded) config. */
export function createSources(store: Store, log: Logger, hooks: IngestHooks, makeParser: ParserFactory) {
  const running = new Map<string, { config: SourceConfig; runner: SourceRunner }>();
  // apply and stop run one at a time: two reloads in quick succession must not both start
  // a reader for the same file while the first is still stopping the old one.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const r = queue.then(fn);
    queue = r.catch(() => {});
    return r;
  };
  const same = (a: SourceConfig, b: SourceConfig) =>
    a.format === b.format && a.start_at === b.start_at && a.host === b.host && a.rotate_wait === b.rotate_wait;

  return {
    apply: (sources: readonly SourceConfig[]) =>
      serially(async () => {
        const wanted = new Map(sources.map((s) => [s.path, s]));
        for (const [path, r] of running) {
          const next = wanted.get(path);
          if (!next || !same(next, r.config)) {
            await r.runner.stop();
            running.delete(path);
            log.info("stopped tailing", { source: path });
          }
        }
        for (const s of sources) {
          if (!running.has(s.path)) running.set(s.path, { config: s, runner: await startSource(store, s, log, hooks, makeParser) });
        }
      }),
    stop: () =>
      serially(async () => {
        await Promise.all([...running.values()].map((r) => r.runner.stop()));
        running.clear();
      }),
    status(): SourceStatusView[] {
      return [...running.values()].map((r) => r.runner.status());
    },
  };
}
