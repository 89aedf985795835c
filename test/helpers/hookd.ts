// hookd for tests, two ways: in-process (startTestApp: the real composition root on port 0
// with a temp store) and as a real process (spawnHookd: `bun src/main.ts …`, for the CLI
// and kill -9 tests). Both only ever listen on 127.0.0.1.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { afterEach } from "bun:test";
import { startHookd, type Hookd } from "../../src/app.ts";
import { defaultConfig, type Config } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { within } from "./deadline.ts";
import { startReceiver, type Receiver } from "./receiver.ts";

import { sharedPgDatabase, testDriver } from "./pg-shared.ts";

export { within };

export const REPO_ROOT = path.resolve(import.meta.dir, "../..");
export const MAIN_TS = path.join(REPO_ROOT, "src/main.ts");
/** The bun running this test, so subprocesses use the same pinned version. */
export const BUN = process.execPath;

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "hookd-"));
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

export type TestConfigOverrides = DeepPartial<Config>;

/** Defaults + overrides, with a fresh temp store and 127.0.0.1:0 unless overridden. */
export function testConfig(overrides: TestConfigOverrides = {}, dir = tempDir()): Config {
  const base = defaultConfig();
  const config = { ...base } as Record<string, unknown>;
  for (const [section, value] of Object.entries(overrides)) {
    const current = (base as Record<string, unknown>)[section];
    config[section] = Array.isArray(value) || typeof current !== "object" ? value : { ...(current as object), ...(value as object) };
  }
  const c = config as Config;
  c.server = { ...c.server, listen: overrides.server?.listen ?? "127.0.0.1:0" };
  c.storage = { ...c.storage, path: overrides.storage?.path ?? path.join(dir, "hookd.db") };
  return c;
}

/**
 * HOOKD_TEST_DRIVER=postgres: the same suites on a fresh PostgreSQL database per app (unless
 * the test chose its driver itself).
 */
export async function onTestDriver(config: Config, overrides: TestConfigOverrides): Promise<Config> {
  if (testDriver() === "postgres" && overrides.storage?.driver === undefined) {
    config.storage = { ...config.storage, driver: "postgres", url: await sharedPgDatabase() };
  }
  return config;
}

export type TestApp = {
  url: string;
  /** The admin key created at first start (all scopes). */
  key: string;
  hookd: Hookd;
  config: Config;
  dir: string;
  /** fetch against the API base with the admin key (or `opts.key`) and JSON body. */
  api(
    method: string,
    pathname: string,
    opts?: { body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> },
  ): Promise<Response>;
  stop(): Promise<void>;
};

export async function startTestApp(overrides: TestConfigOverrides = {}): Promise<TestApp> {
  const dir = tempDir();
  const config = await onTestDriver(testConfig(overrides, dir), overrides);
  const announced: string[] = [];
  const hookd = await startHookd({ config, log: silentLogger, announceKey: (k) => announced.push(k) });
  if (announced.length !== 1) {
    await hookd.stop();
    throw new Error(`startTestApp: expected one announced admin key, got ${announced.length}`);
  }
  const key = announced[0]!;
  const url = hookd.url;
  return {
    url,
    key,
    hookd,
    config,
    dir,
    api(method, pathname, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const k = opts.key === undefined ? key : opts.key;
      if (k !== null && headers.authorization === undefined) headers.authorization = `Bearer ${k}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json";
      const p = pathname.startsWith("/") ? pathname : `/${pathname}`;
      return fetch(`${url}/api/v1${p}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
    },
    stop: () => hookd.stop(),
  };
}

/**
 * Call once at the top of a test file: apps and receivers made through it are stopped after
 * each test (in reverse order), whether the test passed or not.
 */
export function testResources() {
  const stops: (() => unknown)[] = [];
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });
  return {
    async app(overrides: TestConfigOverrides = {}): Promise<TestApp> {
      const a = await startTestApp(overrides);
      stops.push(() => a.stop());
      return a;
    },
    async receiver(): Promise<Receiver> {
      const r = await startReceiver();
      stops.push(() => r.stop());
      return r;
    },
    defer(fn: () => unknown) {
      stops.push(fn);
    },
    /** Anything with stop(), stopped after the test like the rest. */
    track<T extends { stop(): unknown }>(x: T): T {
      stops.push(() => x.stop());
      return x;
    },
  };
}

export type ErrorBody = { errors: { message: string; code: string; field?: string }[] };

/** Asserts the error envelope's shape and returns it; throws with the body on mismatch. */
export async function errorBody(res: Response): Promise<ErrorBody> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`expected a JSON error envelope, got ${res.status}: ${text.slice(0, 300)}`);
  }
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) throw new Error(`expected {errors:[…]} with items, got ${text.slice(0, 300)}`);
  for (const e of errors as Record<string, unknown>[]) {
    const keys = Object.keys(e);
    const shapeOk =
      typeof e.message === "string" &&
      e.message.length > 0 &&
      typeof e.code === "string" &&
      (e.field === undefined || typeof e.field === "string") &&
      keys.every((k) => ["message", "code", "field"].includes(k));
    if (!shapeOk) throw new Error(`error item has the wrong shape: ${JSON.stringify(e)}`);
  }
  return body as ErrorBody;
}

// ---------------------------------------------------------------------------------------
// Real processes

export type SpawnedHookd = {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stdoutLines: string[];
  /** stderr so far (grows while the process runs). */
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number>;
  /** SIGTERM and wait (bounded), then SIGKILL if it is still running. */
  stop(timeoutMs?: number): Promise<number>;
};

export type SpawnOptions = {
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** How long to wait for the "hookd started" line. */
  startTimeoutMs?: number;
};

/** Environment for a child: no HOOKD_* leaking in from the developer's shell. */
export function childEnv(env: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOOKD_")) out[k] = v;
  return { ...out, ...env };
}

async function pump(stream: ReadableStream<Uint8Array>, onText: (s: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onText(decoder.decode(value, { stream: true }));
  }
  onText(decoder.decode());
}

/** `bun src/main.ts serve …` (or args); waits for the "hookd started" log line and parses its URL. */
export async function spawnHookd(opts: SpawnOptions = {}): Promise<SpawnedHookd> {
  const cwd = opts.cwd ?? tempDir();
  const proc = Bun.spawn([BUN, MAIN_TS, ...(opts.args ?? ["serve"])], {
    cwd,
    env: childEnv({ HOOKD_SERVER_LISTEN: "127.0.0.1:0", ...opts.env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdoutLines: string[] = [];
  let stderr = "";
  let partial = "";
  let resolveUrl: (url: string) => void = () => {};
  const urlPromise = new Promise<string>((r) => (resolveUrl = r));
  const stdoutDone = pump(proc.stdout, (text) => {
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      stdoutLines.push(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; listen?: string };
        if (rec.msg === "hookd started" && rec.listen) resolveUrl(rec.listen);
      } catch {
        // not a log line
      }
    }
  });
  const stderrDone = pump(proc.stderr, (text) => (stderr += text));
  const exited = proc.exited.then(async (code) => {
    await Promise.all([stdoutDone, stderrDone]).catch(() => {});
    return code;
  });

  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  const outcome = await within(Promise.race([urlPromise.then((url) => ({ url })), exited.then((code) => ({ exit: code }))]), timeoutMs, {
    timeout: true as const,
  });
  if (!("url" in outcome)) {
    proc.kill(9);
    await exited;
    const why = "exit" in outcome ? `exited with ${outcome.exit}` : `no "hookd started" line within ${timeoutMs}ms`;
    throw new Error(`spawnHookd: ${why}\nstdout:\n${stdoutLines.join("\n")}\nstderr:\n${stderr}`);
  }
  return {
    url: outcome.url,
    proc,
    stdoutLines,
    stderr: () => stderr,
    exited,
    async stop(stopTimeoutMs = 10_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const done = await within(exited, stopTimeoutMs, null);
      if (done !== null) return done;
      proc.kill(9);
      return exited;
    },
  };
}

export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs `bun src/main.ts …args` to completion (bounded) and returns its exit code and output. */
export async function runHookd(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const proc = Bun.spawn([BUN, MAIN_TS, ...args], {
    cwd: opts.cwd ?? tempDir(),
    env: childEnv(opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await within(proc.exited, timeoutMs, "timeout" as const)) === "timeout") proc.kill(9);
  const [[stdout, stderr], code] = await Promise.all([output, proc.exited]);
  if (proc.signalCode === "SIGKILL") throw new Error(`runHookd ${args.join(" ")}: killed after ${timeoutMs}ms\n${stdout}\n${stderr}`);
  return { code, stdout, stderr };
}
