// Option B's worker: runs Bun's SQL client for a thread that must stay synchronous. One
// reserved connection (the calling thread is single-threaded, so one suffices, and BEGIN …
// COMMIT sent as separate calls land on it). Each request arrives as a message; the answer
// is written into the shared buffer and the waiting thread woken with Atomics.notify — its
// event loop is blocked, so a message back would never be read.
import { SQL } from "bun";
import { serialize } from "bun:jsc";
import { READY, type BridgeInit, type BridgeRequest } from "./bridge-protocol.ts";

declare const self: Worker;

let ctrl: Int32Array;
let data: Uint8Array;
let sql: SQL;
let conn: Awaited<ReturnType<SQL["reserve"]>> | null = null;
let settings = "";

function answer(id: number, value: unknown): void {
  let bytes = serialize(value, { binaryType: "nodebuffer" }) as Buffer;
  if (bytes.byteLength > data.byteLength) {
    bytes = serialize(
      {
        error: {
          message: `bridge: answer of ${bytes.byteLength} bytes exceeds the ${data.byteLength}-byte buffer`,
          code: "BRIDGE_TOO_LARGE",
        },
      },
      { binaryType: "nodebuffer" },
    ) as Buffer;
  }
  data.set(bytes, 0);
  Atomics.store(ctrl, 1, bytes.byteLength);
  Atomics.store(ctrl, 0, id);
  Atomics.notify(ctrl, 0);
}

/** The pinned connection; a new one after a connection error (the old one is gone with its transaction). */
async function connection() {
  if (!conn) {
    conn = await sql.reserve();
    // The server ends what the caller has given up on: a statement past the caller's deadline,
    // a transaction left open by a caller that died (its locks would otherwise stay).
    await conn.unsafe(settings);
  }
  return conn;
}

/**
 * A JS array as a PostgreSQL array: bigint[] when every element is a number, text[] otherwise.
 * For arrays without nulls only: Bun 1.3.14 sends a null element as the string "null".
 */
function param(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  return sql.array(v, v.every((x) => x === null || typeof x === "number") ? "BIGINT" : "TEXT");
}

self.onmessage = async (ev: MessageEvent<BridgeInit | BridgeRequest>) => {
  const m = ev.data;
  if ("url" in m) {
    ctrl = new Int32Array(m.ctrl);
    data = new Uint8Array(m.data);
    sql = new SQL(m.url, { max: 1, idleTimeout: 0 });
    settings = `SET statement_timeout = ${m.statementTimeoutMs}; SET idle_in_transaction_session_timeout = ${m.statementTimeoutMs * 2}`;
    try {
      await connection();
      answer(READY, { ok: true });
    } catch (err) {
      answer(READY, { error: { message: (err as Error).message, code: (err as { code?: string }).code ?? "CONNECT" } });
    }
    return;
  }
  if (m.op === "die") process.exit(1);
  try {
    const c = await connection();
    const rows = await c.unsafe(m.text, m.params.map(param));
    answer(m.id, { rows: [...rows], count: rows.count });
  } catch (err) {
    const e = err as Error & { code?: string; errno?: string };
    if (!e.errno) {
      // Not an error the server reported: the connection itself failed. Take a new one next time.
      conn?.release();
      conn = null;
    }
    answer(m.id, { error: { message: e.message.slice(0, 300), code: e.errno ?? e.code ?? "CONNECTION" } });
  }
};
