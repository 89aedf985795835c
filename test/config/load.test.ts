import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { configErrorLines, tempDir, writeFile } from "./helpers.ts";

// Each candidate file sets a different log level, so the level shows which one was read.
function setup() {
  const dir = tempDir();
  const cwd = path.join(dir, "cwd");
  fs.mkdirSync(cwd);
  const flagFile = writeFile(dir, "flag.toml", '[log]\nlevel = "debug"\n');
  const envFile = writeFile(dir, "env.toml", '[log]\nlevel = "warn"\n');
  writeFile(cwd, "hookd.toml", '[log]\nlevel = "error"\n');
  const etcPath = writeFile(dir, "etc/hookd/hookd.toml", "[delivery]\nmax_in_flight = 7\n");
  return { dir, cwd, flagFile, envFile, etcPath };
}

describe("config file lookup", () => {
  test("--config wins over HOOKD_CONFIG, ./hookd.toml and /etc", () => {
    const { cwd, flagFile, envFile, etcPath } = setup();
    const loaded = loadConfig({ path: flagFile, env: { HOOKD_CONFIG: envFile }, cwd, etcPath });
    expect(loaded.file).toBe(flagFile);
    expect(loaded.config.log.level).toBe("debug");
  });

  test("then $HOOKD_CONFIG", () => {
    const { cwd, envFile, etcPath } = setup();
    const loaded = loadConfig({ env: { HOOKD_CONFIG: envFile }, cwd, etcPath });
    expect(loaded.file).toBe(envFile);
    expect(loaded.config.log.level).toBe("warn");
  });

  test("then ./hookd.toml in the working directory", () => {
    const { cwd, etcPath } = setup();
    const loaded = loadConfig({ env: {}, cwd, etcPath });
    expect(loaded.file).toBe("hookd.toml");
    expect(loaded.config.log.level).toBe("error");
  });

  test("then /etc/hookd/hookd.toml", () => {
    const { cwd, etcPath } = setup();
    fs.rmSync(path.join(cwd, "hookd.toml"));
    const loaded = loadConfig({ env: {}, cwd, etcPath });
    expect(loaded.file).toBe(etcPath);
    expect(loaded.config.delivery.max_in_flight).toBe(7);
    expect(loaded.config.log.level).toBe("info");
  });

  test("no file anywhere: built-in defaults and file null", () => {
    const dir = tempDir();
    const loaded = loadConfig({ env: {}, cwd: dir, etcPath: path.join(dir, "missing/hookd.toml") });
    expect(loaded).toEqual({ config: defaultConfig(), file: null });
  });

  test("an empty HOOKD_CONFIG counts as unset", () => {
    const { cwd, etcPath } = setup();
    expect(loadConfig({ env: { HOOKD_CONFIG: "" }, cwd, etcPath }).file).toBe("hookd.toml");
  });

  test("relative --config and HOOKD_CONFIG paths are read from the working directory and labelled as given", () => {
    const { cwd, etcPath } = setup();
    writeFile(cwd, "conf/other.toml", '[log]\nlevel = "warn"\n');
    const viaFlag = loadConfig({ path: "conf/other.toml", env: {}, cwd, etcPath });
    expect(viaFlag).toMatchObject({ file: "conf/other.toml", config: { log: { level: "warn" } } });
    const viaEnv = loadConfig({ env: { HOOKD_CONFIG: "conf/other.toml" }, cwd, etcPath });
    expect(viaEnv).toMatchObject({ file: "conf/other.toml", config: { log: { level: "warn" } } });
  });
});

describe("missing and unreadable files", () => {
  test("a --config file that does not exist is an error, even when other files exist", () => {
    const { dir, cwd, etcPath } = setup();
    const missing = path.join(dir, "nope.toml");
    expect(configErrorLines(() => loadConfig({ path: missing, env: {}, cwd, etcPath }))).toEqual([
      `${missing}: config file not found (given by --config)`,
    ]);
  });

  test("a HOOKD_CONFIG file that does not exist is an error", () => {
    const { cwd, etcPath } = setup();
    expect(configErrorLines(() => loadConfig({ env: { HOOKD_CONFIG: "nope.toml" }, cwd, etcPath }))).toEqual([
      "nope.toml: config file not found (given by HOOKD_CONFIG)",
    ]);
  });

  test("a config path that is a directory is reported, not skipped", () => {
    const { dir, cwd, etcPath } = setup();
    expect(configErrorLines(() => loadConfig({ path: dir, env: {}, cwd, etcPath }))).toEqual([`${dir}: cannot read config file: EISDIR`]);
  });

  test("errors in a found file are labelled with the name it was found under", () => {
    const dir = tempDir();
    writeFile(dir, "hookd.toml", '[delivery]\ntimeout = "six"\n');
    expect(configErrorLines(() => loadConfig({ env: {}, cwd: dir, etcPath: path.join(dir, "none") }))).toEqual([
      'hookd.toml: delivery.timeout: expected a duration above 0 like "6s", got "six"',
    ]);
  });

  test("env overrides apply on top of a found file", () => {
    const { cwd, etcPath } = setup();
    const loaded = loadConfig({ env: { HOOKD_LOG_LEVEL: "warn", HOOKD_DELIVERY_TIMEOUT: "9s" }, cwd, etcPath });
    expect(loaded.config.log.level).toBe("warn");
    expect(loaded.config.delivery.timeout).toBe(9000);
  });

  test("env overrides apply on top of the built-in defaults when there is no file", () => {
    const dir = tempDir();
    const loaded = loadConfig({ env: { HOOKD_SERVER_LISTEN: "127.0.0.1:0" }, cwd: dir, etcPath: path.join(dir, "x") });
    expect(loaded.file).toBeNull();
    expect(loaded.config.server.listen).toBe("127.0.0.1:0");
  });
});
