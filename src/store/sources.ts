// The `source` column of events written by hookd's own intakes (a log's events carry the
// log's path, POST /events' "api", backfill's "backfill:<file>").

/**
 * The feedback intake's events. They are about a message, not a message: the lookup index
 * leaves them out (a report found through one would be found through the original's own
 * events too).
 */
export const FEEDBACK_SOURCE = "feedback";

/** The tracking listener's events (opens, clicks, one-click unsubscribes). */
export const TRACKING_SOURCE = "tracking";
