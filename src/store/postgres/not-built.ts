// An area of the PostgreSQL driver not written yet: every method rejects, naming itself, so a
// test of that area fails with a clear message rather than a TypeError. Removed when the last
// area lands.
export function notBuilt<T extends object>(area: string): T {
  return new Proxy({} as T, {
    get(_target, method) {
      if (typeof method !== "string" || method === "then") return undefined;
      return () => Promise.reject(new Error(`PostgreSQL driver: ${area}.${method} is not built yet`));
    },
  });
}
