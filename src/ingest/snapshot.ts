import type { MailEvent } from "./emit.ts";
import type { MessageState, RcptState } from "./message-state.ts";

// The correlation state as plain JSON, for the caller to persist next to its read offset.
// In memory recipients and injections are a Map and a Set (fast); here they are arrays.

export type StoredMessage = Omit<MessageState, "r" | "inj"> & { r: [string, RcptState][]; inj?: string[] };

/** Events held until the line saying they are a notice (notice-hold.ts); `since`: when the message entered the queue (log time). */
export interface StoredHold {
  since: number;
  events: MailEvent[];
}

export interface Snapshot {
  version: 1;
  messages: [string, StoredMessage][];
  handoffs: [string, { src: string; copy: StoredMessage; at: number }][];
  latest: number;
  /** host|scope|queue id → held events; absent when none (and in snapshots of earlier builds). */
  holds?: [string, StoredHold][];
}

export function store(m: MessageState): StoredMessage {
  const { r, inj, kids, ...rest } = m;
  const out: StoredMessage = { ...rest, r: [...r].map(([to, rs]) => [to, { ...rs }]) };
  if (kids) out.kids = [...kids];
  if (inj) out.inj = [...inj];
  return out;
}

export function load(m: StoredMessage): MessageState {
  const { r, inj, kids, ...rest } = m;
  if (typeof rest.qid !== "string") throw new TypeError("snapshot message without qid");
  // Earlier builds stored recipients and injections as objects keyed by address.
  const rcpts = Array.isArray(r) ? r : Object.entries(r as Record<string, RcptState>);
  const out: MessageState = { ...rest, r: new Map(rcpts.map(([to, rs]) => [to, { ...rs }])) };
  // Earlier builds marked a notice with 1 and left its events out; the kind was nearly always a bounce.
  if ((out.notice as unknown) === 1) out.notice = { kind: "bounce" };
  if (kids) out.kids = [...kids];
  if (inj) out.inj = new Set(Array.isArray(inj) ? inj : Object.keys(inj));
  return out;
}
