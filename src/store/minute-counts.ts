import type { HitRow, MinuteCounts } from "./contract/tracking.ts";

// The tracking commit's per-minute counts, whatever store adds them up. Pure.

/** Counts one stored hit into its minute's figures. */
export function countHit(minutes: Map<number, MinuteCounts>, minute: number, e: HitRow["event"]): void {
  let c = minutes.get(minute);
  if (!c) minutes.set(minute, (c = { opens: 0, machine_opens: 0, clicks: 0, machine_clicks: 0, unsubscribes: 0 }));
  if (e.type === "open") {
    c.opens++;
    if (e.machine) c.machine_opens++;
  } else if (e.type === "click") {
    c.clicks++;
    if (e.machine) c.machine_clicks++;
  } else c.unsubscribes++;
}
