import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/config/errors.ts";
import { parseConfigText } from "../../src/config/load.ts";
import { configErrorLines, configIssues } from "./helpers.ts";

const linesFor = (text: string, file = "hookd.toml") => configErrorLines(() => parseConfigText(text, file));

describe("error messages name the file, the key path, what was expected and what was found", () => {
  test("bad duration", () => {
    expect(linesFor('[delivery]\ntimeout = "six"\n')).toEqual([
      'hookd.toml: delivery.timeout: expected a duration above 0 like "6s", got "six"',
    ]);
    expect(linesFor('[storage]\nretention = "six"\n')).toEqual(['hookd.toml: storage.retention: expected a duration like "6s", got "six"']);
  });

  test("a zero timeout, a negative or fractional integer duration", () => {
    expect(linesFor("[delivery]\ntimeout = 0\nretry_for = -5\nbatch_max_wait = 1.5\n")).toEqual([
      'hookd.toml: delivery.batch_max_wait: expected a duration like "6s", got 1.5',
      'hookd.toml: delivery.timeout: expected a duration above 0 like "6s", got 0',
      'hookd.toml: delivery.retry_for: expected a duration like "6s", got -5',
    ]);
  });

  test("bad size and a size below its minimum", () => {
    expect(linesFor('[delivery]\nbatch_max_bytes = "5 lots"\n[server]\nmax_body_size = "10B"\n')).toEqual([
      'hookd.toml: server.max_body_size: expected a size of at least 1KB like "5MB", got "10B"',
      'hookd.toml: delivery.batch_max_bytes: expected a size of at least 1KB like "5MB", got "5 lots"',
    ]);
  });

  test("wrong type", () => {
    expect(linesFor('[delivery]\nmax_in_flight = "4"\n[security]\nallow_private_targets = "no"\n')).toEqual([
      'hookd.toml: delivery.max_in_flight: expected an integer from 1 to 64, got "4"',
      'hookd.toml: security.allow_private_targets: expected true or false, got "no"',
    ]);
    expect(linesFor("[storage]\npath = 42\n")).toEqual(["hookd.toml: storage.path: expected a file path, got 42"]);
    expect(linesFor("[delivery]\ntimeout = true\n")).toEqual([
      'hookd.toml: delivery.timeout: expected a duration above 0 like "6s", got true',
    ]);
  });

  test("integer out of range", () => {
    expect(linesFor("[delivery]\nbatch_max_events = 0\nmax_in_flight = 65\n")).toEqual([
      "hookd.toml: delivery.batch_max_events: expected an integer from 1 to 100000, got 0",
      "hookd.toml: delivery.max_in_flight: expected an integer from 1 to 64, got 65",
    ]);
  });

  test("a section that is not a table", () => {
    expect(linesFor('delivery = "fast"\n')).toEqual(['hookd.toml: delivery: expected a table, got "fast"']);
  });

  test("bad enum, inside an array of tables", () => {
    const text = '[[sources]]\npath = "/a.log"\n[[sources]]\npath = "/b.log"\nformat = "sendmail"\n';
    expect(linesFor(text)).toEqual(['hookd.toml: sources[1].format: expected one of postfix, exim, jsonl, auto, got "sendmail"']);
    expect(linesFor('[log]\nlevel = "verbose"\n')).toEqual([
      'hookd.toml: log.level: expected one of debug, info, warn, error, got "verbose"',
    ]);
  });

  test("missing or empty source path", () => {
    expect(linesFor('[[sources]]\nformat = "exim"\n[[sources]]\npath = ""\n')).toEqual([
      "hookd.toml: sources[0].path: expected a log file path, got nothing",
      'hookd.toml: sources[1].path: expected a log file path, got ""',
    ]);
  });

  test("sources written as a single table instead of [[sources]]", () => {
    expect(linesFor('[sources]\npath = "/a.log"\n')).toEqual([
      'hookd.toml: sources: expected an array of tables ([[sources]]), got {"path":"/a.log"}',
    ]);
  });

  test("unknown key, in a section, at the top level and in a source", () => {
    const text = '[delivery]\nbatch_size = 5\n[webhooks]\nurl = "x"\n[[sources]]\npath = "/a.log"\nfromat = "exim"\n';
    expect(linesFor(text)).toEqual([
      "hookd.toml: sources[0].fromat: unknown key",
      "hookd.toml: delivery.batch_size: unknown key",
      "hookd.toml: webhooks: unknown key",
    ]);
  });

  test("every unknown key in one table is its own line", () => {
    expect(linesFor("[server]\nport = 1\nhost = 2\n")).toEqual([
      "hookd.toml: server.port: unknown key",
      "hookd.toml: server.host: unknown key",
    ]);
  });

  test("bad listen address", () => {
    expect(linesFor('[server]\nlisten = "localhost"\n')).toEqual([
      'hookd.toml: server.listen: expected host:port like "127.0.0.1:8025" or "[::1]:8025" (port 0-65535), got "localhost"',
    ]);
    expect(linesFor('[server]\nlisten = "127.0.0.1:70000"\n')).toEqual([
      'hookd.toml: server.listen: expected host:port like "127.0.0.1:8025" or "[::1]:8025" (port 0-65535), got "127.0.0.1:70000"',
    ]);
  });

  test("duplicate source path, reported on the repeat and naming the first", () => {
    const text = '[[sources]]\npath = "/a.log"\n[[sources]]\npath = "/b.log"\n[[sources]]\npath = "/a.log"\n';
    expect(linesFor(text)).toEqual(['hookd.toml: sources[2].path: expected a path not already used by sources[0].path, got "/a.log"']);
  });

  test("paths that differ only in spelling count as duplicates", () => {
    const text = '[[sources]]\npath = "/var/log/mail.log"\n[[sources]]\npath = "/var/log//./mail.log"\n';
    expect(linesFor(text)).toEqual([
      'hookd.toml: sources[1].path: expected a path not already used by sources[0].path, got "/var/log//./mail.log"',
    ]);
  });

  test("a duplicate is reported even when another source is wrong too", () => {
    const text = '[[sources]]\npath = "/a.log"\nformat = "x"\n[[sources]]\npath = "/a.log"\n';
    expect(linesFor(text)).toEqual([
      'hookd.toml: sources[0].format: expected one of postfix, exim, jsonl, auto, got "x"',
      'hookd.toml: sources[1].path: expected a path not already used by sources[0].path, got "/a.log"',
    ]);
  });

  test("TOML syntax error gives line, column and smol-toml's reason, without its code frame", () => {
    expect(linesFor('[server]\nlisten = "127.0.0.1:8025"\nmax_body_size = \n')).toEqual(["hookd.toml:3:17: invalid TOML: invalid value"]);
    expect(linesFor('[server]\nlisten = "a"\n[server]\n')).toEqual([
      "hookd.toml:3:2: invalid TOML: trying to redefine an already defined table or value",
    ]);
    const [issue] = configIssues(() => parseConfigText("[server]\n\nlisten = = 1\n", "hookd.toml"));
    expect(issue).toEqual({ file: "hookd.toml", path: "", line: 3, column: 10, message: "invalid TOML: invalid value" });
  });

  test("the label is the path as given, not its basename", () => {
    expect(linesFor("[log]\nlevel = 1\n", "/etc/hookd/hookd.toml")).toEqual([
      "/etc/hookd/hookd.toml: log.level: expected one of debug, info, warn, error, got 1",
    ]);
  });
});

describe("all problems at once", () => {
  test("a file with three mistakes gives three issues with file, path and message", () => {
    const text = '[delivery]\ntimeout = "six"\nbatch_size = 3\n[[sources]]\npath = "/a.log"\nformat = "sendmail"\n';
    let error: unknown;
    try {
      parseConfigText(text, "hookd.toml");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues).toEqual([
      {
        file: "hookd.toml",
        path: "sources[0].format",
        message: 'expected one of postfix, exim, jsonl, auto, got "sendmail"',
      },
      { file: "hookd.toml", path: "delivery.timeout", message: 'expected a duration above 0 like "6s", got "six"' },
      { file: "hookd.toml", path: "delivery.batch_size", message: "unknown key" },
    ]);
    expect(message).toBe(
      [
        'hookd.toml: sources[0].format: expected one of postfix, exim, jsonl, auto, got "sendmail"',
        'hookd.toml: delivery.timeout: expected a duration above 0 like "6s", got "six"',
        "hookd.toml: delivery.batch_size: unknown key",
      ].join("\n"),
    );
  });
});
