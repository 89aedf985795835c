// A parse worker that dies once, on cue (dying-parse-worker.ts): for tests of what survives it.

/** A log line `${DIE_ONCE} <file>` kills the parse worker that reads it if <file> exists (removed as it dies). */
export const DIE_ONCE = "hookd-test: die once";
export const DYING_PARSE_WORKER = new URL("./dying-parse-worker.ts", import.meta.url).href;
