import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { configErrorLines } from "./helpers.ts";

const withEnv = (env: Record<string, string | undefined>, text = "") => parseConfigText(text, "hookd.toml", env);

describe("HOOKD_<SECTION>_<KEY> overrides", () => {
  test("override single keys of every kind, coerced to the key's type", () => {
    const config = withEnv({
      HOOKD_DELIVERY_TIMEOUT: "10s",
      HOOKD_SERVER_LISTEN: "127.0.0.1:0",
      HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: "false",
      HOOKD_DELIVERY_MAX_IN_FLIGHT: "4",
      HOOKD_STORAGE_PATH: "/tmp/x.db",
      HOOKD_DELIVERY_BATCH_MAX_BYTES: "512KiB",
      HOOKD_LOG_LEVEL: "debug",
    });
    expect(config.delivery.timeout).toBe(10_000);
    expect(config.server.listen).toBe("127.0.0.1:0");
    expect(config.security.allow_private_targets).toBe(false);
    expect(config.delivery.max_in_flight).toBe(4);
    expect(config.storage.path).toBe("/tmp/x.db");
    expect(config.delivery.batch_max_bytes).toBe(512 * 1024);
    expect(config.log.level).toBe("debug");
  });

  test("digits mean ms and bytes, as plain integers do in the file", () => {
    const config = withEnv({ HOOKD_DELIVERY_BATCH_MAX_WAIT: "250", HOOKD_SERVER_MAX_BODY_SIZE: "4096" });
    expect(config.delivery.batch_max_wait).toBe(250);
    expect(config.server.max_body_size).toBe(4096);
  });

  test("booleans are case-insensitive", () => {
    expect(withEnv({ HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: "FALSE" }).security.allow_private_targets).toBe(false);
    const fromFile = "[security]\nallow_private_targets = false\n";
    expect(withEnv({ HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: "True" }, fromFile).security.allow_private_targets).toBe(true);
  });

  test("win over the file and leave the file's other keys alone", () => {
    const config = withEnv({ HOOKD_DELIVERY_TIMEOUT: "1s" }, '[delivery]\ntimeout = "30s"\nretry_for = "1h"\n');
    expect(config.delivery.timeout).toBe(1000);
    expect(config.delivery.retry_for).toBe(3_600_000);
  });

  test("a string key keeps digits as text", () => {
    expect(withEnv({ HOOKD_STORAGE_PATH: "123" }).storage.path).toBe("123");
  });

  test("HOOKD_CONFIG, unrelated HOOKD_* variables and other variables are not overrides", () => {
    const config = withEnv({ HOOKD_CONFIG: "/x.toml", HOOKD_ADMIN_TOKEN: "t", HOOKD: "1", PATH: "/bin", UNSET: undefined });
    expect(config).toEqual(withEnv({}));
  });
});

describe("override errors name the variable", () => {
  test("bad value", () => {
    expect(configErrorLines(() => withEnv({ HOOKD_DELIVERY_TIMEOUT: "six" }))).toEqual([
      'HOOKD_DELIVERY_TIMEOUT: expected a duration above 0 like "6s", got "six"',
    ]);
    expect(configErrorLines(() => withEnv({ HOOKD_STORAGE_RETENTION: "six" }))).toEqual([
      'HOOKD_STORAGE_RETENTION: expected a duration like "6s", got "six"',
    ]);
  });

  test("values that cannot be coerced are reported as the text given", () => {
    expect(
      configErrorLines(() =>
        withEnv({ HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: "yes", HOOKD_DELIVERY_MAX_IN_FLIGHT: "four", HOOKD_SERVER_LISTEN: "8025" }),
      ),
    ).toEqual([
      'HOOKD_SERVER_LISTEN: expected host:port like "127.0.0.1:8025" or "[::1]:8025" (port 0-65535), got "8025"',
      'HOOKD_DELIVERY_MAX_IN_FLIGHT: expected an integer from 1 to 64, got "four"',
      'HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: expected true or false, got "yes"',
    ]);
  });

  test("out of range after coercion", () => {
    expect(configErrorLines(() => withEnv({ HOOKD_DELIVERY_MAX_IN_FLIGHT: "100" }))).toEqual([
      "HOOKD_DELIVERY_MAX_IN_FLIGHT: expected an integer from 1 to 64, got 100",
    ]);
  });

  test("unknown key in a known section", () => {
    expect(configErrorLines(() => withEnv({ HOOKD_DELIVERY_BATCH_SIZE: "5", HOOKD_LOG: "debug" }))).toEqual([
      "HOOKD_DELIVERY_BATCH_SIZE: unknown key",
      "HOOKD_LOG: unknown key",
    ]);
  });

  test("sources cannot be set from the environment", () => {
    expect(configErrorLines(() => withEnv({ HOOKD_SOURCES_PATH: "/var/log/mail.log" }))).toEqual([
      "HOOKD_SOURCES_PATH: sources cannot be set from the environment; use the config file",
    ]);
  });

  test("env and file problems are reported together", () => {
    const text = '[log]\nlevel = "loud"\n';
    expect(configErrorLines(() => withEnv({ HOOKD_DELIVERY_TIMEOUT: "six", HOOKD_SERVER_PORT: "1" }, text))).toEqual([
      'HOOKD_DELIVERY_TIMEOUT: expected a duration above 0 like "6s", got "six"',
      'hookd.toml: log.level: expected one of debug, info, warn, error, got "loud"',
      "HOOKD_SERVER_PORT: unknown key",
    ]);
  });

  test("env problems are still reported alongside a TOML syntax error", () => {
    expect(configErrorLines(() => withEnv({ HOOKD_SERVER_PORT: "1" }, "[server\n"))).toEqual([
      expect.stringMatching(/^hookd\.toml:1:\d+: invalid TOML: /),
      "HOOKD_SERVER_PORT: unknown key",
    ]);
  });

  test("an override of a section the file wrote as a non-table leaves the file's error", () => {
    expect(configErrorLines(() => withEnv({ HOOKD_DELIVERY_TIMEOUT: "1s" }, "delivery = 3\n"))).toEqual([
      "hookd.toml: delivery: expected a table, got 3",
    ]);
  });
});
