// Every event insert paid for eight B-trees. The ones keyed by recipient, message-id and
// queue id take keys in random order, so each committed chunk of events dirtied (and wrote to
// the WAL) about one index page per event: measured on 181k generated events, the insert rate
// went 40k → 67k events/s without them (and 182k with time-ordered ingest event ids and no
// secondary index at all). Searches by those fields now walk events_ts newest first and stop
// at the page limit, which is quick for anything recent; received_at grows with seq, so the
// arrival-time queries range over seq instead.
export const sql = /* sql */ `
DROP INDEX IF EXISTS events_rcpt_ts;
DROP INDEX IF EXISTS events_message_id;
DROP INDEX IF EXISTS events_queue_id;
DROP INDEX IF EXISTS events_received_at;
`;
