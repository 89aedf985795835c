import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { parseCidr } from "../../src/config/schema.ts";
import { configErrorLines } from "./helpers.ts";

const parse = (text: string, env: Record<string, string> = {}) => parseConfigText(text, "hookd.toml", env);

describe("[tracking]", () => {
  test("off by default; a listener with its base URL and hookd's own keys in their units", () => {
    expect(parse("").tracking.listen).toBe("");
    const t = parse(
      '[tracking]\nlisten = "127.0.0.1:8026"\nbase_url = "https://t.example.com/t/"\nkey_verify_for = "90d"\nfast_click = "0"\ntrust_proxy = ["10.0.0.0/8", "fd00::/8"]\nrate_limit = 0\n',
    ).tracking;
    expect(t).toMatchObject({
      listen: "127.0.0.1:8026",
      base_url: "https://t.example.com/t/",
      key_verify_for: 90 * 86_400_000,
      fast_click: 0,
      trust_proxy: ["10.0.0.0/8", "fd00::/8"],
      rate_limit: 0,
    });
  });

  test("a listener without base_url is refused, naming the key and why", () => {
    expect(configErrorLines(() => parse('[tracking]\nlisten = "0.0.0.0:8026"\n'))).toEqual([
      'hookd.toml: tracking.base_url: expected the URL recipients reach tracking.listen at, like "https://t.example.com" (required when tracking.listen is set), got ""',
    ]);
  });

  test("base_url must be http(s) without query, fragment or credentials; every mistake at once", () => {
    const lines = configErrorLines(() =>
      parse(
        '[tracking]\nlisten = "0.0.0.0:99999"\nbase_url = "https://t.example.com/?a=1"\nfast_click = "2h"\ntrust_proxy = ["10.0.0.0/33", "proxy"]\nopens = "yes"\n',
      ),
    );
    expect(lines).toEqual([
      'hookd.toml: tracking.listen: expected "" (off) or host:port like "0.0.0.0:8026" (port 0-65535), got "0.0.0.0:99999"',
      'hookd.toml: tracking.base_url: expected a URL without a query or fragment, got "https://t.example.com/?a=1"',
      'hookd.toml: tracking.opens: expected true or false, got "yes"',
      'hookd.toml: tracking.fast_click: expected a duration of at most 1h, got "2h"',
      'hookd.toml: tracking.trust_proxy[0]: expected an IP address or network like "10.0.0.0/8", got "10.0.0.0/33"',
      'hookd.toml: tracking.trust_proxy[1]: expected an IP address or network like "10.0.0.0/8", got "proxy"',
    ]);
    for (const bad of ["ftp://t.example.com", "t.example.com", "https://u:p@t.example.com", "https://t.example.com/#x"]) {
      expect(configErrorLines(() => parse(`[tracking]\nbase_url = "${bad}"\n`))[0]).toStartWith(`hookd.toml: tracking.base_url: expected `);
    }
  });

  test("the environment sets trust_proxy as a comma-separated list", () => {
    const t = parse("", {
      HOOKD_TRACKING_TRUST_PROXY: "192.0.2.1, ::1",
      HOOKD_TRACKING_LISTEN: "127.0.0.1:0",
      HOOKD_TRACKING_BASE_URL: "http://127.0.0.1:1",
    }).tracking;
    expect(t.trust_proxy).toEqual(["192.0.2.1", "::1"]);
    expect(t.listen).toBe("127.0.0.1:0");
  });

  test("parseCidr: addresses and networks of both families", () => {
    expect(parseCidr("203.0.113.7")).toEqual({ address: "203.0.113.7", family: "ipv4", prefix: 32 });
    expect(parseCidr("fd00::/8")).toEqual({ address: "fd00::", family: "ipv6", prefix: 8 });
    expect(parseCidr("::1/129")).toBeNull();
    expect(parseCidr("example.com")).toBeNull();
  });
});
