// The store as tests use it: events stored through the driver's own insert (as POST /events
// stores them), and the SQLite connection underneath for tests that look at the tables.
import type { Event } from "../../src/events/schema.ts";
import type { InsertResult, Store } from "../../src/store/driver.ts";
import { customTypesOf, eventRows } from "../../src/store/event-rows.ts";

export { drizzleOf, sqliteOf } from "../../src/store/sqlite/driver.ts";

/** Stores `events` in one transaction, as POST /events does (source "api" unless given); ids already stored are skipped. */
export function storeEvents(store: Store, events: readonly Event[], source = "api", now = Date.now()): Promise<InsertResult> {
  return store.events.insert(eventRows(events), customTypesOf(events), source, now);
}
