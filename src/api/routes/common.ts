import { z } from "zod";
import { EVENT_TYPES } from "../../events/schema.ts";
import { ErrorEnvelope } from "../errors.ts";

// Pieces every route module uses: the documented error responses, the {id} parameter and
// the results envelope.

const DESCRIPTIONS = {
  400: "Invalid request",
  401: "Missing or invalid API key",
  403: "API key lacks the scope",
  404: "No such webhook",
  409: "Conflicts with the webhook's state (e.g. too many replayed events waiting)",
  408: "Body did not arrive within server.body_timeout",
  413: "Body larger than server.max_body_size",
  503: "Busy with other request bodies, or stopping; retry after Retry-After",
  507: "The store's disk is full; nothing was stored",
} as const;
type ErrorStatus = keyof typeof DESCRIPTIONS;

/** The error responses a route documents, all in the one envelope. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: DESCRIPTIONS[s], content: { "application/json": { schema: ErrorEnvelope } } }]),
  ) as unknown as { [K in S]: { description: string; content: { "application/json": { schema: typeof ErrorEnvelope } } } };
}

/** A 200 whose body is `{"results": schema}`. */
export function okResults<T extends z.ZodType>(schema: T, description: string) {
  return { 200: { description, content: { "application/json": { schema: z.object({ results: schema }) } } } };
}

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .meta({ param: { name: "id", in: "path" }, example: "01jdq3zk8x4y0v9d7n2m5r6t8w" }),
});

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const Rfc3339 = z.iso.datetime({ offset: true, error: "expected an RFC 3339 time like 2026-11-23T13:00:00Z" });

/** `?events=delivery,bounce` style lists of event types. */
export const EventTypeList = z
  .string()
  .max(512)
  .refine((s) => s.split(",").every((t) => (EVENT_TYPES as readonly string[]).includes(t.trim())), {
    error: `expected event types separated by commas, from: ${EVENT_TYPES.join(", ")}`,
  });
