import { z } from "zod";
import { parseDuration, parseSize } from "../lib/units.ts";
import { expected } from "./errors.ts";

// The building blocks of the config schema: each value kind with its "expected X" message.

export const KB = 1000;

export function int(min: number, max: number) {
  const error = expected(`an integer from ${min} to ${max}`);
  return z.int({ error }).min(min, { error }).max(max, { error });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(", ")}`) });
}

/**
 * A value written as text with units, or as a plain integer already in the base unit
 * (ms or bytes), because both are natural in TOML and env vars can only carry digits.
 */
export function withUnits(what: string, parse: (text: string) => number | null, min: number, max = Number.MAX_SAFE_INTEGER, tooBig = "") {
  const error = expected(what);
  return z.union([z.string(), z.number()], { error }).transform((input, ctx) => {
    const value = typeof input === "number" ? (Number.isSafeInteger(input) ? input : null) : parse(input);
    if (value !== null && value > max) {
      ctx.addIssue({ code: "custom", message: expected(tooBig)({ input }), input });
      return z.NEVER;
    }
    if (value === null || value < min) {
      ctx.addIssue({ code: "custom", message: error({ input }), input });
      return z.NEVER;
    }
    return value;
  });
}

// Durations that end up in a timer stay under setTimeout's limit (2^31 ms ≈ 24.8 days),
// past which it fires at once instead.
export const TIMER_MAX_MS = 24 * 86_400_000;
export const duration = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  withUnits(min > 0 ? `a duration above 0 like "6s"` : `a duration like "6s"`, parseDuration, min, max, `a duration of at most 24d`);
export const size = (min: number) => withUnits(`a size of at least ${min / KB}KB like "5MB"`, parseSize, min);

/** "127.0.0.1:8025", "localhost:0", "[::1]:8025" → host (no brackets) and port; null otherwise. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

const listenError = expected(`host:port like "127.0.0.1:8025" or "[::1]:8025" (port 0-65535)`);
export const listen = z.string({ error: listenError }).refine((text) => parseListen(text) !== null, { error: listenError });

export const nonEmpty = (what: string) => {
  const error = expected(what);
  return z.string({ error }).min(1, { error });
};

/** Sections are strict so that a typo ("batch_size") is reported instead of silently ignored. */
export function section<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? "unknown key" : expected("a table")(issue)),
  });
}
