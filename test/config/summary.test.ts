import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { formatSize, summarizeConfig } from "../../src/config/summary.ts";

describe("summarizeConfig", () => {
  test("built-in defaults", () => {
    expect(summarizeConfig(defaultConfig(), null)).toBe(
      [
        "config:   built-in defaults (no config file found)",
        "listen:   127.0.0.1:8025 (request bodies up to 5MB, 1000 requests/s per API key)",
        "storage:  ./data/hookd.db (retention 7d)",
        "sources:  none (nothing is tailed; events arrive only through the API)",
        "delivery: batches of up to 10000 events or 5MB, wait 1s, timeout 6s, retry for 4h, 1 in flight per webhook",
        "security: private targets allowed",
        "dns_txt:  checked every 1m with the system resolver",
        "events:   custom types none declared",
        "log:      info",
        "tracking: off",
      ].join("\n"),
    );
  });

  test("a file with sources and changed values shows them in human units", () => {
    const config = parseConfigText(
      `[delivery]
timeout = 2500
retry_for = "1h30m"
batch_max_bytes = "512KiB"
[security]
allow_private_targets = false
[[sources]]
path = "/var/log/mail.log"
host = "mx1"
[[sources]]
path = "/var/log/exim4/mainlog"
format = "exim"
start_at = "beginning"
host = "mx2"
`,
      "/etc/hookd/hookd.toml",
    );
    const summary = summarizeConfig(config, "/etc/hookd/hookd.toml");
    expect(summary).toContain("config:   /etc/hookd/hookd.toml\n");
    expect(summary).toContain(
      "sources:  2\n  - /var/log/mail.log (format postfix, start at end, host mx1)\n" +
        "  - /var/log/exim4/mainlog (format exim, start at beginning, host mx2)\n",
    );
    expect(summary).toContain("batches of up to 10000 events or 512KiB, wait 1s, timeout 2500ms, retry for 90m,");
    expect(summary).toContain("security: private targets refused");
  });

  test("tracking: the listener, its links and hookd's own settings", () => {
    const config = parseConfigText(
      '[tracking]\nlisten = "127.0.0.1:8026"\nbase_url = "https://t.example.com"\nopens = false\nfast_click = 0\n',
      "hookd.toml",
    );
    expect(summarizeConfig(config, "hookd.toml")).toEndWith(
      "tracking: listener on 127.0.0.1:8026, links https://t.example.com (clicks, unsubscribe); old keys verify 180d after a rotation; " +
        "fast clicks not marked; X-Forwarded-For from 127.0.0.0/8, ::1; 20 requests/s per address",
    );
  });
});

describe("formatSize", () => {
  test.each([
    [5_000_000, "5MB"],
    [1024, "1KiB"],
    [3 * 1024 * 1024, "3MiB"],
    [2_000_000_000, "2GB"],
    [1500, "1500 bytes"],
    [0, "0 bytes"],
  ])("%d → %s", (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});
