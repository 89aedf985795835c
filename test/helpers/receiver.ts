// A real HTTP receiver on 127.0.0.1 for tests: records every request and answers as the
// test scripts it (statuses, delays, hanging, going down and coming back on the same port).
import type { Server } from "bun";
import { within } from "./deadline.ts";

export type RecordedRequest = {
  method: string;
  path: string;
  /** Header names lowercased. */
  headers: Record<string, string>;
  body: string;
  json(): unknown;
  receivedAt: number;
};

export type ResponseSpec = {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  delayMs?: number;
};

/** `n` is the 1-based number of this request since the receiver started. */
export type Responder = (req: RecordedRequest, n: number) => ResponseSpec | Response | Promise<ResponseSpec | Response>;

export type Receiver = {
  readonly url: string;
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  /** A function, one spec for every request, or a queue used in order (then 200s). */
  respondWith(how: Responder | ResponseSpec | ResponseSpec[]): void;
  /** Never answer until the receiver is stopped or closed. */
  hang(): void;
  /** Resolve with the requests once `predicate` holds; reject after `timeoutMs`. */
  waitFor(predicate: (requests: readonly RecordedRequest[]) => boolean, timeoutMs?: number): Promise<readonly RecordedRequest[]>;
  /** Stop listening: new connections are refused (a client reusing a pooled keep-alive
   *  socket sees ECONNRESET first). Requests are kept. */
  close(): Promise<void>;
  /** Listen again on the same port after close(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
};

type Waiter = { check: () => boolean };

export async function startReceiver(): Promise<Receiver> {
  const requests: RecordedRequest[] = [];
  let responder: Responder = () => ({ status: 200 });
  const waiters = new Set<Waiter>();
  // Parked responses (hang, delayMs) are released when the server goes down, so no test
  // leaves a promise pending forever.
  const parked = new Set<() => void>();
  let server: Server<undefined> | null = null;
  let port = 0;

  const release = () => {
    for (const wake of parked) wake();
    parked.clear();
  };
  /** Until the server goes down, or for `ms` at most (a scripted delay). */
  const park = async (ms: number | null) => {
    let wake = () => {};
    const released = new Promise<void>((resolve) => (wake = resolve));
    parked.add(wake);
    await (ms === null ? released : within(released, ms, undefined));
    parked.delete(wake);
  };

  const handle = async (req: Request): Promise<Response> => {
    const body = await req.text();
    const headers: Record<string, string> = {};
    req.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const recorded: RecordedRequest = {
      method: req.method,
      path: new URL(req.url).pathname,
      headers,
      body,
      json: () => JSON.parse(body) as unknown,
      receivedAt: Date.now(),
    };
    requests.push(recorded);
    for (const w of waiters) w.check();
    const answer = await responder(recorded, requests.length);
    if (answer instanceof Response) return answer;
    if (answer.delayMs) await park(answer.delayMs);
    return new Response(answer.body ?? "", { status: answer.status ?? 200, headers: answer.headers ?? {} });
  };

  const listen = () => {
    server = Bun.serve({ hostname: "127.0.0.1", port, fetch: handle });
    port = server.port ?? 0;
  };
  const shutdown = async () => {
    release();
    const s = server;
    server = null;
    if (s) await s.stop(true);
  };
  listen();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    respondWith(how) {
      if (typeof how === "function") responder = how;
      else if (Array.isArray(how)) {
        const queue = [...how];
        responder = () => queue.shift() ?? { status: 200 };
      } else responder = () => how;
    },
    hang() {
      responder = async () => {
        await park(null);
        return { status: 503 };
      };
    },
    async waitFor(predicate, timeoutMs = 5000) {
      if (predicate(requests)) return requests;
      let resolveMet = () => {};
      const met = new Promise<void>((resolve) => (resolveMet = resolve));
      const waiter: Waiter = {
        check: () => {
          if (!predicate(requests)) return false;
          resolveMet();
          return true;
        },
      };
      waiters.add(waiter);
      const outcome = await within(met, timeoutMs, "timeout" as const);
      waiters.delete(waiter);
      if (outcome === "timeout") throw new Error(`receiver.waitFor: condition not met within ${timeoutMs}ms (${requests.length} requests)`);
      return requests;
    },
    close: shutdown,
    async restart() {
      if (server) throw new Error("receiver.restart: still running; close() it first");
      listen();
    },
    stop: shutdown,
  };
}
