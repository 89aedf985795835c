import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { openStore } from "../../src/store/open.ts";
import { runHookd, tempDir } from "../helpers/hookd.ts";

// These run the real entry point, `bun src/main.ts …`, in a temp directory.
const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dir, "../../package.json"), "utf8")) as { version: string };
const TIMEOUT = 30_000;

describe("hookd version and help", () => {
  test(
    "`version` and `--version` print the version and exit 0",
    async () => {
      for (const args of [["version"], ["--version"]]) {
        const r = await runHookd(args);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`hookd ${pkg.version}\n`);
        expect(r.stderr).toBe("");
      }
    },
    TIMEOUT,
  );

  test(
    "`--help`, `-h` and `serve --help` print usage on stdout and exit 0",
    async () => {
      for (const args of [["--help"], ["-h"], ["serve", "--help"]]) {
        const r = await runHookd(args);
        expect(r.code).toBe(0);
        for (const word of ["serve", "check-config", "apikey create", "--config", "Exit codes"]) expect(r.stdout).toContain(word);
      }
    },
    TIMEOUT,
  );

  test(
    "an unknown command or option exits 2 with the reason on stderr",
    async () => {
      const unknown = await runHookd(["frobnicate"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
      expect(unknown.stdout).toBe("");

      const option = await runHookd(["check-config", "--frob"]);
      expect(option.code).toBe(2);
      expect(option.stderr).toContain("--frob");

      const extra = await runHookd(["check-config", "surplus"]);
      expect(extra.code).toBe(2);
      expect(extra.stderr).toContain("surplus");
    },
    TIMEOUT,
  );
});

describe("hookd check-config", () => {
  test(
    "a good file: exit 0 and a summary of the values in effect",
    async () => {
      const dir = tempDir();
      fs.writeFileSync(
        path.join(dir, "good.toml"),
        `[server]\nlisten = "127.0.0.1:0"\n[storage]\npath = "./data/x.db"\nretention = "3d"\n[delivery]\ntimeout = "10s"\n`,
      );
      const r = await runHookd(["check-config", "--config", "good.toml"], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("good.toml");
      expect(r.stdout).toContain("127.0.0.1:0");
      expect(r.stdout).toContain("./data/x.db");
      expect(r.stdout).toContain("retention 3d");
      expect(r.stdout).toContain("timeout 10s");
      // check-config validates; it does not create the store.
      expect(fs.existsSync(path.join(dir, "data"))).toBe(false);
    },
    TIMEOUT,
  );

  test(
    "./hookd.toml is found without --config, and HOOKD_* overrides a key",
    async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "hookd.toml"), `[delivery]\ntimeout = "9s"\n`);
      const r = await runHookd(["check-config"], { cwd: dir, env: { HOOKD_STORAGE_RETENTION: "2d" } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("hookd.toml");
      expect(r.stdout).toContain("timeout 9s");
      expect(r.stdout).toContain("retention 2d");
    },
    TIMEOUT,
  );

  test(
    "a file with 3 mistakes: exit 2 and all 3 errors on stderr, each naming file and key",
    async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "bad.toml"), `[server]\nlisten = "nowhere"\n[delivery]\ntimeout = "six"\nbatch_size = 5\n`);
      const r = await runHookd(["check-config", "--config", "bad.toml"], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(3);
      expect(lines.find((l) => l.startsWith("bad.toml: server.listen: "))).toContain('"nowhere"');
      expect(lines.find((l) => l.startsWith("bad.toml: delivery.timeout: "))).toContain('"six"');
      expect(lines.find((l) => l.startsWith("bad.toml: delivery.batch_size: "))).toContain("unknown key");
    },
    TIMEOUT,
  );

  test(
    "a missing --config file exits 2 naming it",
    async () => {
      const r = await runHookd(["check-config", "--config", "nope.toml"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("nope.toml");
    },
    TIMEOUT,
  );
});

describe("hookd apikey", () => {
  test(
    "create prints one key on stdout; list shows it without the key; revoke marks it revoked",
    async () => {
      const dir = tempDir();
      const env = { HOOKD_STORAGE_PATH: path.join(dir, "store", "hookd.db") };
      const created = await runHookd(["apikey", "create", "--name", "ci", "--scopes", "events:write"], { cwd: dir, env });
      expect(created.code).toBe(0);
      const out = created.stdout.split("\n").filter(Boolean);
      expect(out).toHaveLength(1);
      const key = out[0]!;
      expect(key).toMatch(/^hookd_[A-Za-z0-9_-]{30,}$/);
      expect(created.stderr).not.toContain(key);

      // The key works against the store the CLI wrote, with exactly its scopes.
      const store = openStore(env.HOOKD_STORAGE_PATH);
      const info = await store.keys.find(key, Date.now());
      await store.close();
      expect(info?.name).toBe("ci");
      expect(info?.scopes).toEqual(["events:write"]);
      const id = info!.id;

      const listed = await runHookd(["apikey", "list"], { cwd: dir, env });
      expect({ code: listed.code, stderr: listed.code === 0 ? "" : listed.stderr }).toEqual({ code: 0, stderr: "" });
      expect(listed.stdout).not.toContain(key);
      expect(listed.stdout).not.toContain(key.slice(12));
      const row = listed.stdout.split("\n").find((l) => l.startsWith(id))!;
      expect(row).toBeDefined();
      const cols = row.split("\t");
      expect(cols[1]).toBe("ci");
      expect(key.startsWith(cols[2]!.replace(/…$/, ""))).toBe(true);
      expect(cols[3]).toBe("events:write");
      expect(cols[6]).toBe("-");

      const revoked = await runHookd(["apikey", "revoke", id], { cwd: dir, env });
      expect(revoked.code).toBe(0);
      const after = await runHookd(["apikey", "list"], { cwd: dir, env });
      const revokedCol = after.stdout
        .split("\n")
        .find((l) => l.startsWith(id))!
        .split("\t")[6]!;
      expect(revokedCol).toMatch(/^\d{4}-\d\d-\d\dT/);

      const store2 = openStore(env.HOOKD_STORAGE_PATH);
      expect(await store2.keys.find(key, Date.now())).toBeNull();
      await store2.close();

      const again = await runHookd(["apikey", "revoke", id], { cwd: dir, env });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(id);
    },
    TIMEOUT,
  );

  test(
    "a bad scope, a missing --name or a missing ID → exit 2, no key printed, nothing stored",
    async () => {
      const dir = tempDir();
      const env = { HOOKD_STORAGE_PATH: path.join(dir, "hookd.db") };
      const bad = await runHookd(["apikey", "create", "--name", "ci", "--scopes", "events:write,events:destroy"], { cwd: dir, env });
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toContain("--scopes");
      expect(bad.stderr).toContain("events:destroy");

      const noName = await runHookd(["apikey", "create", "--scopes", "events:write"], { cwd: dir, env });
      expect(noName.code).toBe(2);
      expect(noName.stderr).toContain("--name");

      const noId = await runHookd(["apikey", "revoke"], { cwd: dir, env });
      expect(noId.code).toBe(2);

      const sub = await runHookd(["apikey", "rotate"], { cwd: dir, env });
      expect(sub.code).toBe(2);
      expect(sub.stderr).toContain("rotate");

      const listed = await runHookd(["apikey", "list"], { cwd: dir, env });
      expect(listed.code).toBe(0);
      expect(listed.stdout.trim().split("\n")).toHaveLength(1); // the header only
    },
    TIMEOUT,
  );
});
