import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { normalizeEvent, type NormalizeDefaults } from "../events/normalize.ts";
import { EventInput } from "../events/schema.ts";
import { eventRows, ROW_WIDTH, type EventRows } from "../store/event-rows.ts";
import { ApiError, listedErrors, zodErrors, type ErrorItem } from "./errors.ts";
import { arrayElements } from "./json-scan.ts";

// POST /events' body, from bytes to the rows the store writes, in as little memory as a
// 10,000-event batch allows. The array is split on its bytes and each event parsed,
// validated, normalized and serialized to its row in turn, so the batch is never held as a
// whole text, a tree of parsed objects and rows at once: besides the bytes received, the
// rows are the only thing that grows with the body (measured: a 10 MB POST rose RSS by 42 MB
// between reading the body and validating it when parsed whole, 24 MB this way).

export const MAX_EVENTS_PER_POST = 10_000;
const GC_EVERY = 1000;

const BatchShell = z
  .array(z.unknown())
  .min(1, "expected at least one event")
  .max(MAX_EVENTS_PER_POST, `at most ${MAX_EVENTS_PER_POST} events per request`);

const JSON_TYPE = /^application\/([a-z-.]+\+)?json(;|$)/i;
const malformed = () => new HTTPException(400, { message: "Malformed JSON in request body" });

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformed();
  }
}

export type ValidBatch = { rows: EventRows; customTypes: Set<string>; count: number };

/** Each event's id and type, in request order. */
export function idsAndTypes(rows: EventRows): { ids: string[]; types: string[] } {
  const ids: string[] = [];
  const types: string[] = [];
  for (let c = 0; c < rows.cols.length; c += ROW_WIDTH) {
    ids.push(rows.cols[c] as string);
    types.push(rows.cols[c + 1] as string);
  }
  return { ids, types };
}

/**
 * The body's events as rows, with EventBatch's checks and the same 415/400 answers the
 * routes' validators give: every event's errors are reported (paths from the array), and
 * nothing is returned unless all are valid.
 */
export function eventBatch(contentType: string | undefined, body: ArrayBuffer, defaults: NormalizeDefaults): ValidBatch {
  if (!contentType || !JSON_TYPE.test(contentType.trim())) throw new HTTPException(415, { message: "Unsupported Media Type" });
  const bytes = new Uint8Array(body);
  const split = arrayElements(bytes);
  if (split.kind === "malformed") throw malformed();
  const shellOf = (value: unknown) => {
    const shell = BatchShell.safeParse(value);
    if (!shell.success) throw new ApiError(listedErrors(zodErrors(shell.error, value)));
  };
  if (split.kind === "other") {
    shellOf(parse(new TextDecoder().decode(bytes)));
    throw malformed(); // unreachable: only an array passes the shell
  }
  const { elements } = split;
  if (elements.length === 0 || elements.length > MAX_EVENTS_PER_POST) shellOf(elements);

  const decoder = new TextDecoder();
  const rows: EventRows = { cols: [], bodies: [] };
  const customTypes = new Set<string>();
  const problems: ErrorItem[] = [];
  for (let i = 0; i < elements.length; i++) {
    const { start, end } = elements[i]!;
    const item = parse(decoder.decode(bytes.subarray(start, end)));
    const r = EventInput.safeParse(item);
    if (!r.success) problems.push(...zodErrors(r.error, item, [i]));
    else if (!problems.length) {
      const e = normalizeEvent(r.data, defaults);
      eventRows([e], rows);
      if (e.type === "custom") customTypes.add(e.custom_type);
    }
    if (i % GC_EVERY === GC_EVERY - 1) Bun.gc(false);
  }
  if (problems.length) throw new ApiError(listedErrors(problems));
  return { rows, customTypes, count: elements.length };
}
