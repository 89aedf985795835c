import type { FeedbackConfig } from "../config/schema.ts";
import type { EventInput } from "../events/schema.ts";
import { normalizeEvent } from "../events/normalize.ts";
import type { Store } from "../store/driver.ts";
import { eventRows } from "../store/event-rows.ts";
import type { FeedbackDeps } from "./process.ts";
import type { FeedbackStats } from "./stats.ts";
import { keyringSource } from "../track/keystore.ts";
import { createMailTokenVerifier } from "../track/mail-token-verifier.ts";
import { storeLookup, type TokenVerifier } from "./store-lookup.ts";
import { DEFAULT_FORMS } from "./unsubscribe.ts";

// What the LMTP listener and `hookd feedback` share: the pipeline's dependencies built from
// [feedback] and the store. A commit is one unit of work in the store (FeedbackStore.commit:
// one write transaction, durable when it resolves), so "250" and "exit 0" mean the events are
// on disk; ids that are already stored (the MTA delivered the report again) are skipped.

export interface IntakeWiring {
  store: Store;
  config: FeedbackConfig;
  /** This machine's name: the events' host when the original message is unknown, and the default local MTA. */
  hostname: string;
  stats?: FeedbackStats;
  tokens?: TokenVerifier;
  /** After a commit, with the types of the events actually stored: metrics, and waking delivery. */
  onStored?: (types: string[]) => void;
  now?: () => number;
}

export function intakeDeps(w: IntakeWiring): FeedbackDeps {
  const now = w.now ?? Date.now;
  const deps: FeedbackDeps = {
    // VERP and unsubscribe-address tokens verify against the tracking keyring in the store.
    lookup: storeLookup(w.store, w.tokens ?? createMailTokenVerifier(w.store, keyringSource(w.store), now)),
    commit: groupCommitter(w.store, w.hostname, now, w.onStored),
    host: w.hostname,
    now,
    parse: { forms: w.config.verp ? { ...DEFAULT_FORMS, domain: w.config.verp } : DEFAULT_FORMS },
    match: { isLocalMta: localMtaMatcher(w.config.local_mtas.length > 0 ? w.config.local_mtas : [w.hostname]) },
  };
  if (w.stats) deps.stats = w.stats;
  return deps;
}

/** Several messages' events in one transaction (all or none); the stored types of each. */
function commitGroup(store: Store, groups: readonly (readonly EventInput[])[], host: string, now: number): Promise<string[][]> {
  const rows = groups.map((events) => eventRows(events.map((e) => normalizeEvent(e, { host, now }))));
  return store.feedback.commit(rows, now);
}

/**
 * commit() for FeedbackDeps with group commit: the messages whose commits are asked for in the
 * same turn of the event loop (several LMTP connections at once) share one transaction, so one
 * fsync makes all of them durable before any gets its 250. One message's events are still all
 * or none: a failing transaction fails every message in it (each is answered 451 and retried).
 */
export function groupCommitter(
  store: Store,
  host: string,
  now: () => number,
  onStored?: (types: string[]) => void,
): FeedbackDeps["commit"] {
  let waiting: { events: readonly EventInput[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  const flush = async () => {
    const group = waiting;
    waiting = [];
    let stored: string[][];
    try {
      stored = await commitGroup(
        store,
        group.map((g) => g.events),
        host,
        now(),
      );
    } catch (err) {
      for (const g of group) g.reject(err);
      return;
    }
    group.forEach((g, i) => {
      onStored?.(stored[i]!);
      g.resolve();
    });
  };
  return (events) =>
    new Promise<void>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(() => void flush());
      waiting.push({ events, resolve, reject });
    });
}

/** Whether a DSN's Reporting-MTA is one of `names` (case and a trailing dot ignored, as DNS does). */
export function localMtaMatcher(names: readonly string[]): (name: string) => boolean {
  const canonical = (n: string) => n.trim().toLowerCase().replace(/\.$/, "");
  const ours = new Set(names.map(canonical));
  return (name) => ours.has(canonical(name));
}
