// What the bridge (bridge.ts) and its worker (bridge-worker.ts) exchange. Its own module: the
// caller must not import the worker's file, whose top level installs a message handler.

export type BridgeRequest = { id: number; op: "query"; text: string; params: unknown[] } | { id: number; op: "die" };
export type BridgeInit = { url: string; ctrl: SharedArrayBuffer; data: SharedArrayBuffer; statementTimeoutMs: number };

/** ctrl[0] holds the id of the last answer written; this id answers the connection at start. ctrl[1]: the answer's length in `data`. */
export const READY = -1;
