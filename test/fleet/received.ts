// What a fleet's receiver got, by event id and by the webhook-id of each request, and the
// checks the fleet tests make on it: duplicates only as whole batches resent, each log in order.
import { eventsOf, type ReceivedEvent } from "../helpers/delivery.ts";
import type { RecordedRequest } from "../helpers/receiver.ts";

// What the receiver got

export type Arrival = { webhookId: string; request: number; event: ReceivedEvent };

export type Received = {
  /** event_id → each arrival (one per request that carried it). */
  byId: Map<string, Arrival[]>;
  /** The events of the distinct batches (first arrival of each webhook-id), in arrival order. */
  inOrder: ReceivedEvent[];
  /** Problems: a webhook-id sent with two bodies, an event in two different batches, a request without webhook-id. */
  violations: string[];
  /** webhook-ids received more than once. */
  resent: string[];
};

/** Groups the receiver's requests by event and checks that duplicates are whole resent batches. */
export function collect(requests: readonly RecordedRequest[]): Received {
  const byId = new Map<string, Arrival[]>();
  const bodies = new Map<string, string>();
  const times = new Map<string, number>();
  const inOrder: ReceivedEvent[] = [];
  const violations: string[] = [];
  requests.forEach((r, request) => {
    const webhookId = r.headers["webhook-id"];
    if (!webhookId) {
      violations.push(`request ${request} without webhook-id`);
      return;
    }
    const first = bodies.get(webhookId);
    times.set(webhookId, (times.get(webhookId) ?? 0) + 1);
    if (first !== undefined) {
      if (first !== r.body) violations.push(`webhook-id ${webhookId} sent with two different bodies`);
    } else bodies.set(webhookId, r.body);
    for (const event of eventsOf(r)) {
      const list = byId.get(event.event_id) ?? [];
      list.push({ webhookId, request, event });
      byId.set(event.event_id, list);
      if (first === undefined) inOrder.push(event);
    }
  });
  for (const [id, arrivals] of byId) {
    const batches = new Set(arrivals.map((a) => a.webhookId));
    if (batches.size > 1) violations.push(`event ${id} arrived in ${batches.size} different batches: ${[...batches].join(", ")}`);
  }
  const resent = [...times].filter(([, n]) => n > 1).map(([id]) => id);
  return { byId, inOrder, violations, resent };
}

/**
 * Log events out of order within their source: for each host, the message numbers of its
 * events (rcptOf) in the order received must never go back, and a message's injection
 * comes before its delivery.
 */
export function sourceOrderProblems(inOrder: readonly ReceivedEvent[], hosts: readonly string[]): string[] {
  const problems: string[] = [];
  const last = new Map<string, { i: number; type: string }>();
  for (const e of inOrder) {
    const host = e.host as string | undefined;
    if (!host || !hosts.includes(host)) continue;
    const m = /-(\d{7})@/.exec(String(e.rcpt_to ?? ""));
    if (!m) continue;
    const i = Number(m[1]);
    const prev = last.get(host);
    if (prev && (i < prev.i || (i === prev.i && prev.type === "delivery" && e.type === "injection")))
      problems.push(`${host}: ${e.type} of message ${i} after ${prev.type} of message ${prev.i}`);
    last.set(host, { i, type: e.type });
    if (problems.length > 10) break;
  }
  return problems;
}
