import { describe, expect, test } from "bun:test";
import { type TrackAspects, readControl } from "../../src/mail/control.ts";
import { parseHeaderBlock } from "../../src/mail/headers.ts";

const ON: TrackAspects = { opens: true, clicks: true, unsubscribe: true };
const OPENS_ONLY: TrackAspects = { opens: true, clicks: false, unsubscribe: false };

const fieldsOf = (...lines: string[]) =>
  parseHeaderBlock(Buffer.from(`From: a@example.com\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`));

describe("X-Hookd-* headers", () => {
  test("a list turns on what it names and nothing else", () => {
    const c = readControl(fieldsOf("X-Hookd-Track: opens, clicks"), "header", ON);
    expect(c).toEqual({ track: { opens: true, clicks: true, unsubscribe: false }, marked: true, remove: ["X-Hookd-Track"], problems: [] });
    expect(readControl(fieldsOf("x-hookd-track: Unsubscribe"), "header", ON).track).toEqual({
      opens: false,
      clicks: false,
      unsubscribe: true,
    });
  });

  test("all, none and default", () => {
    expect(readControl(fieldsOf("X-Hookd-Track: all"), "header", OPENS_ONLY).track).toEqual(ON);
    expect(readControl(fieldsOf("X-Hookd-Track: none"), "header", ON).track).toEqual({ opens: false, clicks: false, unsubscribe: false });
    expect(readControl(fieldsOf("X-Hookd-Track: default"), "header", OPENS_ONLY).track).toEqual(OPENS_ONLY);
  });

  test("campaign, tags (comma list) and metadata (JSON object) come along and are removed", () => {
    const c = readControl(
      fieldsOf(
        "X-Hookd-Track: opens",
        "X-Hookd-Campaign: spring-sale",
        "X-Hookd-Tags: news, promo ,news,",
        'X-Hookd-Metadata: {"customer": "42", "n": 3, "vip": true,',
        '  "nested": {"a": [1, 2]}}',
      ),
      "header",
      ON,
    );
    expect(c).toEqual({
      track: { opens: true, clicks: false, unsubscribe: false },
      marked: true,
      campaign_id: "spring-sale",
      tags: ["news", "promo"],
      metadata: { customer: "42", n: 3, vip: true, nested: '{"a":[1,2]}' },
      remove: ["X-Hookd-Track", "X-Hookd-Campaign", "X-Hookd-Tags", "X-Hookd-Metadata"],
      problems: [],
    });
  });

  test("campaign data without X-Hookd-Track does not mark the message, but still leaves it", () => {
    const c = readControl(fieldsOf("X-Hookd-Campaign: c1"), "header", ON);
    expect(c).toMatchObject({ track: null, campaign_id: "c1", remove: ["X-Hookd-Campaign"] });
  });
});

describe("SparkPost X-MSYS-API", () => {
  const msys = (json: unknown) => `X-MSYS-API: ${JSON.stringify(json)}`;

  test("options.open_tracking / click_tracking mark the message; unsubscribe follows the default", () => {
    const c = readControl(
      fieldsOf(
        msys({
          campaign_id: "welcome",
          tags: ["a", "b"],
          metadata: { user: "u1" },
          options: { open_tracking: true, click_tracking: false, ip_pool: "x" },
          cc: [],
        }),
      ),
      "header",
      ON,
    );
    expect(c).toEqual({
      track: { opens: true, clicks: false, unsubscribe: true },
      marked: true,
      campaign_id: "welcome",
      tags: ["a", "b"],
      metadata: { user: "u1" },
      remove: ["X-MSYS-API"],
      problems: [],
    });
  });

  test("an aspect it leaves out takes the [tracking] default", () => {
    expect(readControl(fieldsOf(msys({ options: { click_tracking: true } })), "header", OPENS_ONLY).track).toEqual({
      opens: true,
      clicks: true,
      unsubscribe: false,
    });
  });

  test("without tracking options it does not mark the message (track = header) but does with track = all", () => {
    const fields = fieldsOf(msys({ campaign_id: "c" }));
    expect(readControl(fields, "header", ON)).toMatchObject({ track: null, campaign_id: "c", remove: ["X-MSYS-API"] });
    expect(readControl(fields, "all", ON)).toMatchObject({ track: ON, campaign_id: "c" });
  });

  test("wrong types are a problem named by field", () => {
    const c = readControl(fieldsOf(msys({ options: { open_tracking: "yes" } })), "all", ON);
    expect(c.track).toBeNull();
    expect(c.problems).toEqual([expect.stringMatching(/^X-MSYS-API: options\.open_tracking: /)]);
    expect(c.remove).toEqual(["X-MSYS-API"]);
  });
});

describe("SendGrid X-SMTPAPI", () => {
  const smtpapi = (json: unknown) => `X-SMTPAPI: ${JSON.stringify(json)}`;

  test('filters.*.settings.enable (0/1, booleans, "0"/"1") mark the message; category → tags, unique_args → metadata', () => {
    const c = readControl(
      fieldsOf(
        smtpapi({
          category: "newsletter",
          unique_args: { customerAccountNumber: "55555" },
          filters: {
            opentrack: { settings: { enable: 1 } },
            clicktrack: { settings: { enable: "0", enable_text: true } },
            subscriptiontrack: { settings: { enable: false } },
          },
        }),
      ),
      "header",
      ON,
    );
    expect(c).toEqual({
      track: { opens: true, clicks: false, unsubscribe: false },
      marked: true,
      tags: ["newsletter"],
      metadata: { customerAccountNumber: "55555" },
      remove: ["X-SMTPAPI"],
      problems: [],
    });
    expect(
      readControl(
        fieldsOf(smtpapi({ category: ["a", "b"], filters: { clicktrack: { settings: { enable: true } } } })),
        "header",
        OPENS_ONLY,
      ),
    ).toMatchObject({
      track: { opens: true, clicks: true, unsubscribe: false },
      tags: ["a", "b"],
    });
  });

  test("a folded header (as SendGrid asks for long ones) is unfolded before parsing", () => {
    const c = readControl(fieldsOf('X-SMTPAPI: {"filters": {"opentrack":', ' {"settings": {"enable": 1}}}}'), "header", ON);
    expect(c.track).toEqual({ opens: true, clicks: true, unsubscribe: true });
  });
});

describe("several sources", () => {
  test("per aspect the first source that says something wins: X-Hookd-Track, X-MSYS-API, X-SMTPAPI", () => {
    const c = readControl(
      fieldsOf(
        'X-SMTPAPI: {"category": "sg", "filters": {"opentrack": {"settings": {"enable": 0}}, "subscriptiontrack": {"settings": {"enable": 0}}}}',
        'X-MSYS-API: {"campaign_id": "sp", "options": {"open_tracking": true}}',
      ),
      "header",
      ON,
    );
    expect(c).toMatchObject({
      track: { opens: true, clicks: true, unsubscribe: false },
      campaign_id: "sp",
      tags: ["sg"],
      remove: ["X-SMTPAPI", "X-MSYS-API"],
    });
    const hookdFirst = readControl(fieldsOf("X-Hookd-Track: clicks", 'X-MSYS-API: {"options": {"open_tracking": true}}'), "header", ON);
    expect(hookdFirst.track).toEqual({ opens: false, clicks: true, unsubscribe: false });
  });
});

describe("unreadable control headers: removed, reason given, message not tracked", () => {
  const cases: [string, string[], RegExp][] = [
    ["invalid JSON in X-MSYS-API", ["X-MSYS-API: {open_tracking: true"], /^X-MSYS-API: invalid JSON/],
    ["invalid JSON in X-SMTPAPI", ['X-SMTPAPI: {"filters": }'], /^X-SMTPAPI: invalid JSON/],
    ["JSON that is not an object", ["X-SMTPAPI: [1,2]"], /^X-SMTPAPI: /],
    ["invalid JSON in X-Hookd-Metadata", ["X-Hookd-Track: opens", "X-Hookd-Metadata: {'a': 1}"], /^X-Hookd-Metadata: invalid JSON/],
    ["an unknown word", ["X-Hookd-Track: opens, klicks"], /^X-Hookd-Track: unknown word "klicks"/],
    ["an empty X-Hookd-Track", ["X-Hookd-Track:  "], /^X-Hookd-Track: empty/],
    ["a header given twice", ["X-Hookd-Track: opens", "X-Hookd-Track: clicks"], /^X-Hookd-Track appears 2 times/],
    ["a campaign id over 255 characters", ["X-Hookd-Track: all", `X-Hookd-Campaign: ${"c".repeat(256)}`], /^X-Hookd-Campaign: /],
    [
      "more than 50 tags",
      ["X-Hookd-Track: all", `X-Hookd-Tags: ${Array.from({ length: 51 }, (_, i) => `t${i}`).join(",")}`],
      /^X-Hookd-Tags: /,
    ],
    [
      "a metadata value over 4096 characters",
      ["X-Hookd-Track: all", `X-Hookd-Metadata: {"a": "${"x".repeat(4097)}"}`],
      /^X-Hookd-Metadata: a: /,
    ],
    [
      "metadata nested too deep to handle",
      ["X-Hookd-Track: all", `X-Hookd-Metadata: {"a": ${"[".repeat(15000)}${"]".repeat(15000)}}`],
      /./,
    ],
    ["a header over 32 KiB", [`X-SMTPAPI: {"unique_args": {"a": "${"x".repeat(33 * 1024)}"}}`], /^X-SMTPAPI is over 32768 bytes/],
  ];
  for (const [label, lines, problem] of cases) {
    test(label, () => {
      for (const mode of ["header", "all"] as const) {
        const c = readControl(fieldsOf(...lines), mode, ON);
        expect(c.track).toBeNull();
        expect(c.problems).toEqual([expect.stringMatching(problem)]);
        expect(c.remove.length).toBeGreaterThan(0);
      }
    });
  }
});

test("track = all tracks unmarked mail with the defaults; track = off touches nothing", () => {
  const plain = fieldsOf("Subject: hi");
  expect(readControl(plain, "all", OPENS_ONLY)).toEqual({ track: OPENS_ONLY, marked: false, remove: [], problems: [] });
  expect(readControl(plain, "header", ON)).toEqual({ track: null, marked: false, remove: [], problems: [] });
  expect(readControl(fieldsOf("X-Hookd-Track: all", "X-MSYS-API: {bad"), "off", ON)).toEqual({
    track: null,
    marked: false,
    remove: [],
    problems: [],
  });
});
