import { monotonicFactory } from "ulid";

// Monotonic so that ids made in the same millisecond still sort in creation order: batch
// ids order delivery within a webhook.
const next = monotonicFactory();

export function newId(prefix = "", now = Date.now()): string {
  return prefix + next(now).toLowerCase();
}
