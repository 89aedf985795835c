import type { Database } from "bun:sqlite";
import type { FeedbackConfig } from "../config/schema.ts";
import type { EventInput } from "../events/schema.ts";
import { normalizeEvent } from "../events/normalize.ts";
import { eventRows, insertRowsTx } from "../store/events.ts";
import type { FeedbackDeps } from "./process.ts";
import { type FeedbackStats } from "./stats.ts";
import { noTokens, storeLookup, type TokenVerifier } from "./store-lookup.ts";
import { DEFAULT_FORMS } from "./unsubscribe.ts";

// What the LMTP listener and `hookd feedback` share: the pipeline's dependencies built from
// [feedback] and the store. A commit is one BEGIN IMMEDIATE transaction on a connection with
// synchronous=FULL (store/db.ts), so "250" and "exit 0" mean the events are on disk; ids that
// are already stored (the MTA delivered the report again) are skipped by the store's insert.

export interface IntakeWiring {
  db: Database;
  config: FeedbackConfig;
  /** This machine's name: the events' host when the original message is unknown, and the default local MTA. */
  hostname: string;
  stats?: FeedbackStats;
  tokens?: TokenVerifier;
  /** After a commit, with the types of the events actually stored: metrics, and waking delivery. */
  onStored?: (types: string[]) => void;
  now?: () => number;
}

export const FEEDBACK_SOURCE = "feedback";

export function intakeDeps(w: IntakeWiring): FeedbackDeps {
  const now = w.now ?? Date.now;
  const deps: FeedbackDeps = {
    lookup: storeLookup(w.db, w.tokens ?? noTokens),
    commit: async (events) => {
      const types = commitEvents(w.db, events, w.hostname, now());
      w.onStored?.(types);
    },
    host: w.hostname,
    now,
    parse: { forms: w.config.verp ? { ...DEFAULT_FORMS, domain: w.config.verp } : DEFAULT_FORMS },
    match: { isLocalMta: localMtaMatcher(w.config.local_mtas.length > 0 ? w.config.local_mtas : [w.hostname]) },
  };
  if (w.stats) deps.stats = w.stats;
  return deps;
}

/** Stores the events all or none; returns the types of those not already stored. */
export function commitEvents(db: Database, inputs: readonly EventInput[], host: string, now: number): string[] {
  const rows = eventRows(inputs.map((e) => normalizeEvent(e, { host, now })));
  return db.transaction(() => insertRowsTx(db, rows, FEEDBACK_SOURCE, now).types).immediate();
}

/** Whether a DSN's Reporting-MTA is one of `names` (case and a trailing dot ignored, as DNS does). */
export function localMtaMatcher(names: readonly string[]): (name: string) => boolean {
  const canonical = (n: string) => n.trim().toLowerCase().replace(/\.$/, "");
  const ours = new Set(names.map(canonical));
  return (name) => ours.has(canonical(name));
}
