import type { EventStore, FeedbackStore, IngestStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

export function eventStore(_ctx: PgContext): EventStore {
  return notBuilt("events");
}

export function ingestStore(_ctx: PgContext): IngestStore {
  return notBuilt("ingest");
}

export function feedbackStore(_ctx: PgContext): FeedbackStore {
  return notBuilt("feedback");
}
