// The feedback intake ties a bounce or complaint to its message by the returned Message-ID or
// a queue id. events has no index on either (0004: they cost every insert a random B-tree
// write), and walking events_ts for a key that is not there reads the whole retention window:
// ~1 s per miss on 3M events. message_lookup is that index, kept off the hot path: a background
// job reads events after `indexed_seq` and adds one row per (message, recipient) —
// h = xxHash64 of "m\0<message-id>" or "q\0<queue id>", seq = an event that names it. The
// table grows at its right edge (pruned from the left with the events), the one index (h, seq)
// takes the random writes, a few per message instead of three per event. Rows past
// `indexed_seq` are found by scanning those events directly, so a lagging index is slower,
// never wrong. No state row: nobody has used the feedback intake, nothing is indexed.
export const sql = /* sql */ `
CREATE TABLE message_lookup (
  h INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX message_lookup_h ON message_lookup(h, seq);
CREATE TABLE message_lookup_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_seq INTEGER NOT NULL
);
`;
