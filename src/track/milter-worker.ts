// The milter's thread: the milter listener (`[milter] listen`) and the work of tracking each
// message run here, off the main thread. That work is CPU — MIME split and join, HTMLRewriter,
// one HMAC per link, ~1–3 ms for a 50 KB newsletter — and one commit per turn of the event
// loop (row-writer.ts, fsynced; synchronous on SQLite): on the main thread, a busy MTA would
// stall the API and delivery, and their transactions would hold up Postfix's smtpd processes.
// This thread has its own store connection (the keyring, the rows); nothing else here touches
// the store.
import { formatListen } from "../milter/listen.ts";
import { createMilterServer, type MilterServer } from "../milter/server.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { notifyParent, serveRpc } from "../lib/worker-rpc.ts";
import type { Store } from "../store/driver.ts";
import { connectStore } from "../store/open.ts";
import { keyringSource } from "./keystore.ts";
import { errorReporter, milterHandler, type MessageOutcome } from "./milter-handler.ts";
import type { MilterCounts, MilterMethods, MilterNote, MilterWorkerInit } from "./milter-protocol.ts";
import { createRowWriter, type RowWriter } from "./row-writer.ts";

const COUNTS_EVERY_MS = 1000;
/** How long stop() lets a message in progress finish; then Postfix's default action (accept) applies. */
const STOP_DEADLINE_MS = 5000;

const note = (m: MilterNote) => notifyParent(m);

let server: MilterServer | null = null;
let store: Store | null = null;
let rows: RowWriter | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let pending: MilterCounts = { messages: {}, seconds: [] };

function flushCounts(): void {
  if (Object.keys(pending.messages).length === 0) return;
  note({ t: "counts", counts: pending });
  pending = { messages: {}, seconds: [] };
}

function recorder(log: Logger) {
  return (o: MessageOutcome) => {
    const key = `${o.outcome}/${o.reason}`;
    pending.messages[key] = (pending.messages[key] ?? 0) + 1;
    if (o.seconds !== undefined) pending.seconds.push(o.seconds);
    // Mail that could have been tracked but passed unchanged is worth a line; mail left alone
    // by rule (not marked, no HTML) is not.
    if (o.outcome === "unchanged")
      log.warn("milter: message passed unchanged", { queue_id: o.queueId, reason: o.reason, detail: o.detail });
    else log.debug("milter: message", { queue_id: o.queueId, outcome: o.outcome, reason: o.reason });
  };
}

async function start(init: MilterWorkerInit): Promise<{ address: string }> {
  if (server?.address) return { address: formatListen(server.address) };
  const log = createLogger({ level: init.logLevel, write: (line) => note({ t: "log", line }) });
  const s = await connectStore(init.store, { max: 2 });
  const keys = keyringSource(s);
  let srv: MilterServer;
  try {
    await keys.get(); // fails here, at start, when the store has no valid ring
    rows = createRowWriter(s);
    const onOutcome = recorder(log);
    const w = rows;
    srv = createMilterServer({
      listen: init.listen,
      handler: milterHandler(init, { keyring: () => keys.get(), storeRow: (data) => w.insert(data), onOutcome }),
      onError: errorReporter(onOutcome),
      maxMessageBytes: init.maxBytes,
      handlerTimeoutMs: init.timeoutMs,
    });
    await srv.start();
  } catch (err) {
    await s.close();
    rows = null;
    throw err;
  }
  store = s;
  server = srv;
  timer = setInterval(flushCounts, COUNTS_EVERY_MS);
  return { address: formatListen(srv.address!) };
}

serveRpc<MilterMethods>({
  start,
  async stop() {
    if (timer) clearInterval(timer);
    timer = null;
    await server?.stop({ deadlineMs: STOP_DEADLINE_MS });
    await rows?.stop();
    flushCounts();
    await store?.close();
    server = null;
    rows = null;
    store = null;
  },
});
