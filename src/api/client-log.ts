import type { Context } from "hono";

// Some failures are a client's doing and repeat as often as the client likes (bodies that
// end early, bad chunked framing): worth one log line per client now and then, not one
// per request.

const WINDOW_MS = 10 * 60_000;
const MAX_CLIENTS = 1000;

/** The peer address of the request, from Bun's server (the `env` hono is given); "unknown" in-process. */
export function clientAddress(c: Context): string {
  const server = c.env as { requestIP?: (req: Request) => { address: string } | null } | undefined;
  return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
}

/** `write` runs at most once per client per window; how many were left out is counted for the next line. */
export function oncePerClient(now: () => number = Date.now) {
  const seen = new Map<string, { at: number; skipped: number }>();
  return (client: string, write: (skipped: number) => void) => {
    const t = now();
    const s = seen.get(client);
    if (s && t - s.at < WINDOW_MS) {
      s.skipped++;
      return;
    }
    if (!s && seen.size >= MAX_CLIENTS) seen.clear();
    write(s?.skipped ?? 0);
    seen.set(client, { at: t, skipped: 0 });
  };
}
