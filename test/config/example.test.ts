import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../src/config/load.ts";
import { ConfigSchema, defaultConfig } from "../../src/config/schema.ts";

const EXAMPLE = path.join(import.meta.dir, "../../config.example.toml");
const text = fs.readFileSync(EXAMPLE, "utf8");

describe("config.example.toml", () => {
  test("parses and equals the built-in defaults", () => {
    expect(parseConfigText(text, "config.example.toml")).toEqual(defaultConfig());
  });

  test("sets every key of every section explicitly, so it documents every default", () => {
    const sections = Object.keys(ConfigSchema.shape).filter((s) => s !== "sources");
    for (const section of sections) {
      const inner = defaultConfig()[section as keyof ReturnType<typeof defaultConfig>] as Record<string, unknown>;
      for (const key of Object.keys(inner)) {
        // The key must sit inside its own section, before the next [header].
        expect(text).toMatch(new RegExp(`^\\[${section}\\]$(?:(?!^\\[)[\\s\\S])*?^${key} = `, "m"));
      }
    }
  });

  test("shows a commented-out [[sources]] example with every source key", () => {
    for (const key of ["path", "format", "start_at", "host"]) expect(text).toMatch(new RegExp(`^# ${key} = `, "m"));
    expect(text).toMatch(/^# \[\[sources\]\]$/m);
  });

  test("its commented source is valid once uncommented", () => {
    const uncommented = text.replace(/^# (\[\[sources\]\]|path|format|start_at|host|rotate_wait)( |$)/gm, "$1$2");
    const config = parseConfigText(uncommented, "config.example.toml");
    expect(config.sources).toEqual([{ path: "/var/log/mail.log", format: "postfix", start_at: "end", host: "mx1", rotate_wait: 5000 }]);
  });
});
