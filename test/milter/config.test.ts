// [milter] in the config: its keys, their defaults and units, and the mistakes it names.
import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { configErrorLines } from "../config/helpers.ts";

const parse = (text: string, env: Record<string, string> = {}) => parseConfigText(text, "hookd.toml", env);

describe("[milter]", () => {
  test("off by default; a TCP or unix listener, the mode, the size and time limits in bytes and ms", () => {
    expect(parse("").milter).toEqual({ listen: "", track: "header", max_message_size: 10_000_000, timeout: 10_000 });
    const base = '[tracking]\nbase_url = "https://t.example.com"\n';
    expect(parse(`${base}[milter]\nlisten = "127.0.0.1:8891"\ntrack = "all"\nmax_message_size = "25MB"\ntimeout = "30s"\n`).milter).toEqual(
      {
        listen: "127.0.0.1:8891",
        track: "all",
        max_message_size: 25_000_000,
        timeout: 30_000,
      },
    );
    expect(parse(`${base}[milter]\nlisten = "unix:/run/hookd/milter.sock"\n`).milter.listen).toBe("unix:/run/hookd/milter.sock");
    expect(parse(base, { HOOKD_MILTER_LISTEN: "[::1]:8891", HOOKD_MILTER_TRACK: "off" }).milter).toMatchObject({
      listen: "[::1]:8891",
      track: "off",
    });
  });

  test("a listener that would track needs [tracking] base_url; with track = off it does not", () => {
    expect(configErrorLines(() => parse('[milter]\nlisten = "127.0.0.1:8891"\n'))).toEqual([
      'hookd.toml: tracking.base_url: expected the URL tracked links start with, like "https://t.example.com" (required when milter.listen is set and milter.track is not "off"), got ""',
    ]);
    expect(parse('[milter]\nlisten = "127.0.0.1:8891"\ntrack = "off"\n').milter.track).toBe("off");
  });

  test("every mistake at once, each naming its key", () => {
    const lines = configErrorLines(() =>
      parse(
        '[tracking]\nbase_url = "https://t.example.com"\n[milter]\nlisten = "inet:127.0.0.1:8891"\ntrack = "marked"\nmax_message_size = "1KB"\ntimeout = "10m"\nthreads = 4\n',
      ),
    );
    expect(lines).toEqual([
      'hookd.toml: milter.listen: expected "" (off), host:port like "127.0.0.1:8891", or "unix:/run/hookd/milter.sock", got "inet:127.0.0.1:8891" (milter listen "inet:127.0.0.1:8891": write it without Postfix\'s "inet:" prefix; expected "host:port" (e.g. "127.0.0.1:8891") or "unix:/absolute/path")',
      'hookd.toml: milter.track: expected one of all, header, off, got "marked"',
      'hookd.toml: milter.max_message_size: expected a size from 64KB to 100MB like "10MB", got "1KB"',
      'hookd.toml: milter.timeout: expected a duration of at most 5m, got "10m"',
      "hookd.toml: milter.threads: unknown key",
    ]);
  });
});
