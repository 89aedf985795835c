import type { SQL } from "bun";

// At most as many operations on a pool at once as it has connections, so that Bun never
// pipelines two of them on one connection. Bun 1.3.14 pipelines a query onto a busy
// connection when none is idle, and a pipeline mixing a statement it has prepared with one it
// has not (prepared, new, prepared) can leave a query pending forever — or hand one query's
// rows to another. Two dozen concurrent API requests on a fresh node were enough: requests
// hung until their clients gave up, /status failed reading another query's rows, and a view's
// transaction sat idle holding its snapshot (test/fleet/api-concurrency.test.ts). Queued here
// instead, each operation gets a connection of its own.
//
// Gated: a query (sql`…` or sql.unsafe(…)) from the moment it is awaited until it settles —
// queries are lazy, and one never awaited is a fragment inside another query's text, which
// must not take a slot — and sql.begin(…) from its call until it settles. Not gated: sql(value)
// and sql.array(…), helpers that go inside a query's text, and whatever a transaction runs on
// its own `tx` (it holds its connection already). Nothing may use the pool inside a
// transaction of the same pool: it would wait for a slot its caller holds.

type Then = PromiseLike<unknown>["then"];

/** `sql` with at most `slots` operations under way at once; the others wait their turn, in order. */
export function gatePool(sql: SQL, slots: number): SQL {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  const run = async <T>(op: () => PromiseLike<T>): Promise<T> => {
    if (active < slots) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await op();
    } finally {
      release();
    }
  };
  /** The query runs when awaited, once it has a slot. */
  const lazy = (query: unknown): unknown => {
    if (typeof (query as PromiseLike<unknown> | null)?.then !== "function") return query;
    const q = query as PromiseLike<unknown>;
    const execute: Then = q.then.bind(q);
    const started = () => {
      // Bun's own calls on the query while it runs (its finally()) must reach its then().
      delete (q as { then?: Then }).then;
      return new Promise<unknown>((resolve, reject) => execute(resolve, reject));
    };
    // biome-ignore lint/suspicious/noThenProperty: the query's own then(), taking a slot first
    Object.defineProperty(q, "then", {
      configurable: true,
      value: ((onFulfilled, onRejected) => run(started).then(onFulfilled, onRejected)) as Then,
    });
    return q;
  };
  const isTemplate = (x: unknown): boolean => Array.isArray(x) && Object.hasOwn(x, "raw");
  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const made = Reflect.apply(target, thisArg, args);
      return isTemplate(args[0]) ? lazy(made) : made;
    },
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      const method = value as (...a: unknown[]) => unknown;
      if (prop === "unsafe") return (...args: unknown[]) => lazy(Reflect.apply(method, target, args));
      if (prop === "begin" || prop === "transaction")
        return (...args: unknown[]) => run(() => Reflect.apply(method, target, args) as PromiseLike<unknown>);
      return method.bind(target);
    },
  });
}
