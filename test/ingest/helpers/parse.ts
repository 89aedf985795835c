import { expect } from "bun:test";
import { type Event, EventInput } from "../../../src/events/schema.ts";
import { type ChunkParser, flushChunk, newParser, type ParserSetup, parseChunk } from "../../../src/ingest/chunk-parser.ts";
import { createLogParser, type LogParser, type LogParserOptions, type Snapshot } from "../../../src/ingest/parse/index.ts";
import { NOW } from "./corpus.ts";

/** Feeds lines to one parser; every event it emits must pass EventInput. */
export function run(lines: string[], opts: Partial<LogParserOptions> = {}): { events: Event[]; parser: LogParser } {
  const parser = createLogParser({ format: "auto", now: () => NOW, ...opts });
  const events: Event[] = [];
  for (const line of lines) events.push(...parser.feed(line));
  for (const e of events) expectValid(e);
  return { events, parser };
}

export function expectValid(e: Event): void {
  const r = EventInput.safeParse(e);
  if (!r.success) throw new Error(`invalid event ${JSON.stringify(e)}: ${r.error.message}`);
  expect(e.event_id).toMatch(/^[A-Za-z0-9._:-]+$/);
}

/** The one event of `type` in `events`. */
export function only(events: Event[], type: Event["type"]): Event {
  const found = events.filter((e) => e.type === type);
  expect(found.length).toBe(1);
  return found[0] as Event;
}

/** The chunk parser on the calling thread: what the parse worker must give, chunk by chunk. */
export function inThreadParser(setup: ParserSetup, state: Snapshot | null): ChunkParser {
  let parser = newParser(setup, state);
  return {
    feed: (lines, snapshot) => Promise.resolve(parseChunk(parser, lines, snapshot)),
    flush: () => Promise.resolve(flushChunk(parser)),
    reset: (s) => {
      parser = newParser(setup, s);
    },
    close: () => {},
  };
}
