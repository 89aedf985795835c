import type { Store } from "../store/driver.ts";
import { hitRows, type CampaignRow, type Hit } from "./events.ts";

// One batch of hits → one unit of work in the store (TrackingStore.commitHits): `first`
// claimed, the events inserted through the store's own insert path (the same rows POST
// /events writes, source "tracking"; ids already stored skipped), and the minute counts for
// the admin page, all or nothing. The campaign rows the hits name are read just before: they
// never change once written.
//
// Durability: the writer's store runs with durability "normal": a commit is atomic and
// survives a process kill, and skips the fsync a power cut would need — an open or a click is
// answered with its pixel or redirect either way. A batch holding a one-click unsubscribe,
// whose 200 says "recorded", is committed durable: fsynced, this batch and every earlier one.

export type CommitResult = {
  /** Events stored by type (duplicates — a same-second re-fetch, a repeated one-click — left out). */
  stored: Record<string, number>;
  /** Of those, marked machine. */
  machine: number;
  /** Whether this commit was fsynced (it held a one-click unsubscribe). */
  durable: boolean;
};

export function createHitCommitter(store: Store, opts: { host: string }): (hits: readonly Hit[]) => Promise<CommitResult> {
  return async (hits) => {
    const durable = hits.some((h) => h.payload.kind === "unsubscribe");
    const refs = [...new Set(hits.flatMap((h) => (h.payload.ref === undefined ? [] : [h.payload.ref])))];
    const data = refs.length ? await store.tracking.messages(refs) : null;
    const campaigns = new Map<number, CampaignRow | undefined>();
    const campaign = (ref: number) => {
      if (!campaigns.has(ref)) campaigns.set(ref, campaignRow(data?.get(ref)));
      return campaigns.get(ref);
    };
    const r = await store.tracking.commitHits(hitRows(hits, { campaign, host: opts.host }), { durable, now: Date.now() });
    return { ...r, durable };
  };
}

// Written by the rewrite (message.ts) from validated input; read back defensively all the same.
function campaignRow(data: string | undefined): CampaignRow | undefined {
  if (data === undefined) return undefined;
  try {
    const row = JSON.parse(data) as unknown;
    return row && typeof row === "object" && !Array.isArray(row) ? (row as CampaignRow) : undefined;
  } catch {
    return undefined;
  }
}
