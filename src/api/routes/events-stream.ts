import { streamSSE } from "hono/streaming";
import { Hono } from "hono";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import type { ErrorCode } from "../errors.ts";

const POLL_MS = 500;
// A comment line now and then keeps idle streams open through Bun's and proxies' idle timeouts.
const KEEPALIVE_MS = 5000;
const MAX_PER_POLL = 200;
// A key revoked (or stripped of events:read) while a stream is open ends that stream within
// this long; every write is preceded by the same check.
const KEY_RECHECK_MS = 2000;

/**
 * GET /events/stream: new events as Server-Sent Events (`event: event`, data = the event
 * JSON, id = its store position). Resumes after `Last-Event-ID`. Polls the store rather
 * than hooking into writers, so events from every origin (API, logs, backfill) show up.
 * The key is judged again while the stream is open: once it is revoked the stream ends with
 * an `event: error` in the API's error envelope.
 */
export function eventStreamRoutes(deps: ApiDeps) {
  const app = new Hono<AuthEnv>();
  app.get("/events/stream", requireScope("events:read"), (c) =>
    streamSSE(c, async (stream) => {
      const keyId = c.get("apiKey").id;
      const resumeFrom = Number(c.req.header("last-event-id"));
      let last = Number.isInteger(resumeFrom) && resumeFrom >= 0 ? resumeFrom : await deps.store.events.maxSeq();
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      const end = () => (open = false);
      deps.closing.addEventListener("abort", end);
      let checkedAt = Date.now();
      const keyStillValid = () => {
        checkedAt = Date.now();
        return deps.store.keys.allows(keyId, "events:read");
      };
      await stream.writeSSE({ event: "ready", data: JSON.stringify({ after: last }) });
      let quietSince = Date.now();
      while (open && !deps.closing.aborted) {
        const rows = await deps.store.events.after(last, MAX_PER_POLL);
        const due = rows.length > 0 || Date.now() - checkedAt >= KEY_RECHECK_MS;
        if (due && !(await keyStillValid())) {
          const code: ErrorCode = "unauthorized";
          await stream.writeSSE({
            event: "error",
            data: JSON.stringify({
              errors: [{ message: "the API key was revoked or lost the scope events:read", field: "Authorization", code }],
            }),
          });
          break;
        }
        for (const r of rows) {
          await stream.writeSSE({ event: "event", id: String(r.seq), data: r.body });
          last = r.seq;
        }
        if (rows.length) quietSince = Date.now();
        else if (Date.now() - quietSince >= KEEPALIVE_MS) {
          await stream.write(": keep-alive\n\n");
          quietSince = Date.now();
        }
        if (rows.length < MAX_PER_POLL) await stream.sleep(POLL_MS);
      }
      deps.closing.removeEventListener("abort", end);
    }),
  );
  return app;
}
