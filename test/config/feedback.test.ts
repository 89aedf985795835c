import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { parseFeedbackListen } from "../../src/config/schema.ts";
import { configErrorLines } from "./helpers.ts";

const parse = (text: string, env: Record<string, string> = {}) => parseConfigText(text, "hookd.toml", env);

describe("[feedback]", () => {
  test("off by default; a TCP or unix-socket listener, the VERP domain, a size and our MTAs", () => {
    expect(parse("").feedback).toEqual({ listen: "", verp: "", max_size: 10_000_000, local_mtas: [] });
    const f = parse(
      '[feedback]\nlisten = "127.0.0.1:8024"\nverp = "bounces.example.com"\nmax_size = "512KB"\nlocal_mtas = ["mx1.example.com", "mx2.example.com."]\n',
    ).feedback;
    expect(f).toEqual({
      listen: "127.0.0.1:8024",
      verp: "bounces.example.com",
      max_size: 512_000,
      local_mtas: ["mx1.example.com", "mx2.example.com."],
    });
    expect(parse('[feedback]\nlisten = "unix:/run/hookd/lmtp.sock"\n').feedback.listen).toBe("unix:/run/hookd/lmtp.sock");
  });

  test("every mistake at once, each naming its key and what was expected", () => {
    const lines = configErrorLines(() =>
      parse(
        '[feedback]\nlisten = "unix:relative.sock"\nverp = "not a domain"\nmax_size = "1GB"\nlocal_mtas = ["mx1", "bad name!"]\nsize = 5\n',
      ),
    );
    expect(lines).toEqual([
      'hookd.toml: feedback.listen: expected "" (off), host:port like "127.0.0.1:8024", or "unix:/run/hookd/lmtp.sock", got "unix:relative.sock"',
      'hookd.toml: feedback.verp: expected "" (off) or a domain like "bounces.example.com", got "not a domain"',
      'hookd.toml: feedback.max_size: expected a size of at most 100MB, got "1GB"',
      'hookd.toml: feedback.local_mtas[1]: expected an MTA host name like "mx1.example.com", got "bad name!"',
      "hookd.toml: feedback.size: unknown key",
    ]);
    expect(configErrorLines(() => parse('[feedback]\nmax_size = "10"\n'))).toEqual([
      'hookd.toml: feedback.max_size: expected a size from 1KB to 100MB like "10MB", got "10"',
    ]);
    expect(configErrorLines(() => parse('[feedback]\nlisten = "127.0.0.1:70000"\n'))[0]).toStartWith(
      "hookd.toml: feedback.listen: expected ",
    );
    expect(configErrorLines(() => parse("[feedback]\nlocal_mtas = 5\n"))).toEqual([
      'hookd.toml: feedback.local_mtas: expected a list of MTA host names like ["mx1.example.com"], got 5',
    ]);
  });

  test("the environment sets local_mtas as a comma-separated list", () => {
    const f = parse("", {
      HOOKD_FEEDBACK_LOCAL_MTAS: "mx1.example.com, mx2.example.com",
      HOOKD_FEEDBACK_LISTEN: "127.0.0.1:0",
      HOOKD_FEEDBACK_MAX_SIZE: "65536",
    }).feedback;
    expect(f).toMatchObject({ local_mtas: ["mx1.example.com", "mx2.example.com"], listen: "127.0.0.1:0", max_size: 65536 });
  });

  test("parseFeedbackListen: host:port, an absolute socket path, nothing else", () => {
    expect(parseFeedbackListen("127.0.0.1:8024")).toEqual({ host: "127.0.0.1", port: 8024 });
    expect(parseFeedbackListen("[::1]:8024")).toEqual({ host: "::1", port: 8024 });
    expect(parseFeedbackListen("unix:/run/hookd/lmtp.sock")).toEqual({ path: "/run/hookd/lmtp.sock" });
    expect(parseFeedbackListen(`unix:/${"x".repeat(120)}`)).toBeNull();
    expect(parseFeedbackListen("unix:")).toBeNull();
    expect(parseFeedbackListen("8024")).toBeNull();
  });
});
