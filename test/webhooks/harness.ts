// The webhook service as its callers get it, for tests: a real SQLite store in a temp
// folder, the real attempt path (signing, auth, the private-target guard) and a clock the
// test sets. What it notified and logged is recorded.
import path from "node:path";
import { afterEach } from "bun:test";
import { defaultConfig, type Config } from "../../src/config/schema.ts";
import { OAuth2Tokens } from "../../src/deliver/oauth2.ts";
import { ServiceError, type ErrorItem } from "../../src/lib/errors.ts";
import { createLogger } from "../../src/lib/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { WebhookDeps } from "../../src/webhooks/context.ts";
import { tempDir } from "../helpers/hookd.ts";

export type Harness = WebhookDeps & {
  /** The clock the service reads; tests move it. */
  clock: { ms: number };
  notified: () => number;
  logged: () => { msg: string; [k: string]: unknown }[];
  close(): void;
};

// Now-ish: receivers check that a signature's timestamp is recent.
export const T0 = Math.floor(Date.now() / 1000) * 1000;

export function openHarness(opts: { allowPrivateTargets?: boolean; dnsServers?: string[] } = {}): Harness {
  const base = defaultConfig();
  const allowPrivateTargets = opts.allowPrivateTargets ?? true;
  const config: Pick<Config, "security" | "verification" | "delivery" | "events"> = {
    security: { ...base.security, allow_private_targets: allowPrivateTargets },
    verification: { ...base.verification, dns_servers: opts.dnsServers ?? base.verification.dns_servers },
    delivery: base.delivery,
    events: base.events,
  };
  const store = openStore(path.join(tempDir(), "hookd.db"));
  const clock = { ms: T0 };
  let notifications = 0;
  const lines: { msg: string }[] = [];
  const version = "0.0.0-test";
  return {
    store,
    config,
    attempt: {
      version,
      timeoutMs: 5000,
      allowPrivateTargets,
      tokens: new OAuth2Tokens({ timeoutMs: () => 5000, allowPrivateTargets, version }),
    },
    log: createLogger({ write: (line) => lines.push(JSON.parse(line) as { msg: string }) }),
    now: () => clock.ms,
    notifyEvents: () => void notifications++,
    hostname: "mx.test",
    clock,
    notified: () => notifications,
    logged: () => lines,
    close: () => store.close(),
  };
}

/** Call once per test file: harnesses it opens are closed after each test. */
export function harnesses(): (opts?: Parameters<typeof openHarness>[0]) => Harness {
  const open: Harness[] = [];
  afterEach(() => {
    while (open.length) open.pop()!.close();
  });
  return (opts) => {
    const h = openHarness(opts);
    open.push(h);
    return h;
  };
}

/** The ServiceError `fn` throws (sync or async); fails the test if it throws nothing or something else. */
export async function serviceError(fn: () => unknown): Promise<ErrorItem[]> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ServiceError) return err.items;
    throw err;
  }
  throw new Error("expected a ServiceError, nothing was thrown");
}
