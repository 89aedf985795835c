import { describe, expect, test } from "bun:test";
import { compileFilter } from "../../src/deliver/subscription.ts";

// filter {machine: false}: engagement events marked machine are left out, whether the flag
// comes from the batcher's light pass (a column, json_extract: 1) or from the body (second
// pass, replay). Nothing else is affected.

const row = (type: string, extra: { machine?: unknown; body?: string } = {}) => ({
  type,
  host: "mx1",
  mail_from: null,
  rcpt_to: "a@example.org",
  custom_type: null,
  notice: null,
  ...extra,
});

describe("compileFilter with machine: false", () => {
  const humans = compileFilter(["*"], { machine: false });
  const all = compileFilter(["*"], null);

  test("the light pass's column", () => {
    expect([humans(row("open", { machine: 1 })), humans(row("open", { machine: 0 })), humans(row("click", { machine: null }))]).toEqual([
      false,
      true,
      true,
    ]);
    expect(all(row("open", { machine: 1 }))).toBe(true);
  });

  test("the body, when the row has no column", () => {
    expect(humans(row("click", { body: '{"type":"click","machine":true,"metadata":{"machine":false}}' }))).toBe(false);
    expect(humans(row("click", { body: '{"type":"click","metadata":{"machine":true},"machine":false}' }))).toBe(true);
    expect(humans(row("list_unsubscribe", { body: '{"type":"list_unsubscribe","machine":true}' }))).toBe(false);
  });

  test("other types are never machine, and machine: true filters nothing", () => {
    expect(humans(row("delivery", { body: '{"machine":true}' }))).toBe(true);
    expect(compileFilter(["*"], { machine: true })(row("open", { machine: 1 }))).toBe(true);
  });
});
