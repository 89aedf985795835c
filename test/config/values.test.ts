import os from "node:os";
import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { defaultConfig, parseListen } from "../../src/config/schema.ts";

describe("defaults", () => {
  test("an empty file gives every documented default, in ms and bytes", () => {
    expect(parseConfigText("", "hookd.toml")).toEqual({
      server: { listen: "127.0.0.1:8025", max_body_size: 5_000_000, body_timeout: 30_000, rate_limit: 1000 },
      storage: { path: "./data/hookd.db", retention: 7 * 24 * 3_600_000, driver: "sqlite", url: "", node: "" },
      sources: [],
      delivery: {
        batch_max_events: 10_000,
        batch_max_bytes: 5_000_000,
        batch_max_wait: 1000,
        timeout: 6000,
        retry_for: 4 * 3_600_000,
        max_in_flight: 1,
        replay_max_pending: 250_000,
      },
      security: { allow_private_targets: true },
      events: { custom_types: [] },
      verification: { dns_servers: [], dns_interval: 60_000 },
      log: { level: "info" },
      tracking: {
        listen: "",
        base_url: "",
        opens: true,
        clicks: true,
        unsubscribe: true,
        key_verify_for: 180 * 86_400_000,
        fast_click: 10_000,
        trust_proxy: ["127.0.0.0/8", "::1"],
        rate_limit: 20,
      },
      feedback: { listen: "", verp: "", max_size: 10_000_000, local_mtas: [] },
      milter: { listen: "", track: "header", max_message_size: 10_000_000, timeout: 10_000 },
    });
  });

  test("defaultConfig() equals an empty file", () => {
    expect(defaultConfig()).toEqual(parseConfigText("", "hookd.toml"));
  });

  test("a section given with some keys keeps the defaults of the others", () => {
    const config = parseConfigText('[delivery]\ntimeout = "10s"\n', "hookd.toml");
    expect(config.delivery.timeout).toBe(10_000);
    expect(config.delivery.retry_for).toBe(4 * 3_600_000);
    expect(config.delivery.max_in_flight).toBe(1);
  });

  test("a source gets format, start_at and host defaults; host is this machine's name", () => {
    const config = parseConfigText('[[sources]]\npath = "/var/log/mail.log"\n', "hookd.toml");
    expect(config.sources).toEqual([
      { path: "/var/log/mail.log", format: "postfix", start_at: "end", host: os.hostname(), rotate_wait: 5000 },
    ]);
  });

  test("sources keep their order and explicit values", () => {
    const text = `
[[sources]]
path = "/var/log/mail.log"
format = "auto"
start_at = "beginning"
host = "mx1"

[[sources]]
path = "/var/log/exim4/mainlog"
format = "exim"
`;
    const config = parseConfigText(text, "hookd.toml");
    expect(config.sources.map((s) => [s.path, s.format, s.start_at, s.host])).toEqual([
      ["/var/log/mail.log", "auto", "beginning", "mx1"],
      ["/var/log/exim4/mainlog", "exim", "end", os.hostname()],
    ]);
  });
});

describe("durations", () => {
  const timeout = (value: string) => parseConfigText(`[delivery]\ntimeout = ${value}\n`, "hookd.toml").delivery.timeout;

  test.each([
    ['"500ms"', 500],
    ['"6s"', 6000],
    ['"2m"', 120_000],
    ['"4h"', 4 * 3_600_000],
    ['"7d"', 7 * 86_400_000],
    ['"1h30m"', 5_400_000],
    ['"1.5s"', 1500],
    ["2500", 2500],
  ])("timeout = %s is %d ms", (value, ms) => {
    expect(timeout(value)).toBe(ms);
  });

  test('0 is allowed where waiting is optional: batch_max_wait = "0s" and = 0', () => {
    expect(parseConfigText('[delivery]\nbatch_max_wait = "0s"\n', "f").delivery.batch_max_wait).toBe(0);
    expect(parseConfigText("[delivery]\nbatch_max_wait = 0\n", "f").delivery.batch_max_wait).toBe(0);
  });

  test("retention and retry_for are durations too", () => {
    const config = parseConfigText('[storage]\nretention = "30d"\n[delivery]\nretry_for = "90m"\n', "f");
    expect(config.storage.retention).toBe(30 * 86_400_000);
    expect(config.delivery.retry_for).toBe(90 * 60_000);
  });
});

describe("sizes", () => {
  const bytes = (value: string) => parseConfigText(`[delivery]\nbatch_max_bytes = ${value}\n`, "hookd.toml").delivery.batch_max_bytes;

  test.each([
    ['"5MB"', 5_000_000],
    ['"512KiB"', 512 * 1024],
    ['"2MiB"', 2 * 1024 * 1024],
    ['"1GB"', 1_000_000_000],
    ['"1KB"', 1000],
    ['"4096"', 4096],
    ["65536", 65_536],
  ])("batch_max_bytes = %s is %d bytes", (value, n) => {
    expect(bytes(value)).toBe(n);
  });

  test("server.max_body_size is a size", () => {
    expect(parseConfigText('[server]\nmax_body_size = "1MiB"\n', "f").server.max_body_size).toBe(1024 * 1024);
  });
});

describe("listen addresses", () => {
  test.each([
    ["127.0.0.1:8025", { host: "127.0.0.1", port: 8025 }],
    ["0.0.0.0:0", { host: "0.0.0.0", port: 0 }],
    ["localhost:65535", { host: "localhost", port: 65535 }],
    ["[::1]:8025", { host: "::1", port: 8025 }],
    ["[::]:80", { host: "::", port: 80 }],
  ])("%s is accepted and parses to host and port", (text, parsed) => {
    expect(parseListen(text)).toEqual(parsed);
    expect(parseConfigText(`[server]\nlisten = "${text}"\n`, "f").server.listen).toBe(text);
  });

  test.each(["127.0.0.1", "127.0.0.1:65536", ":8025", "::1:8025", "[::1]", "host:port", "a b:80", ""])("%p is rejected", (text) => {
    expect(parseListen(text)).toBeNull();
  });
});

describe("other values", () => {
  test("enums, booleans and integers at their bounds", () => {
    const config = parseConfigText(
      `[delivery]\nbatch_max_events = 100000\nmax_in_flight = 64\n[security]\nallow_private_targets = false\n[log]\nlevel = "debug"\n`,
      "f",
    );
    expect(config.delivery.batch_max_events).toBe(100_000);
    expect(config.delivery.max_in_flight).toBe(64);
    expect(config.security.allow_private_targets).toBe(false);
    expect(config.log.level).toBe("debug");
  });
});
