// security.allow_private_targets = false, against a DNS that changes its answer (rebinding):
// the request goes to the address the guard checked, never to a second answer. The guard asks
// a DNS server of the test's own on 127.0.0.1; fetch itself resolves with the system resolver,
// which answers `localhost` with 127.0.0.1 from the hosts file. So a target named localhost
// whose DNS answers "public" to the guard is exactly the rebinding window: unpinned, the
// request resolves again and lands on the receiver on 127.0.0.1.
//
// Pinning keeps the name: Host for every receiver, SNI and the certificate check for HTTPS
// (a CA of the test's own, trusted only by these requests).
import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { ulid } from "ulid";
import { defaultConfig } from "../../src/config/schema.ts";
import type { AttemptContext, AttemptWebhook } from "../../src/deliver/attempt.ts";
import { createEngine, type Engine } from "../../src/deliver/engine.ts";
import { postPinned, type GuardOptions } from "../../src/deliver/guarded-post.ts";
import { failureCode, type PostBatchInput } from "../../src/deliver/http-client.ts";
import { OAuth2Tokens } from "../../src/deliver/oauth2.ts";
import { sendNow } from "../../src/deliver/send-now.ts";
import { generateSecret } from "../../src/deliver/sign.ts";
import { sampleEvent } from "../../src/events/samples.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { maxEventSeq } from "../../src/store/sqlite/events.ts";
import { insertWebhook } from "../../src/store/sqlite/webhooks.ts";
import { FAST_RETRY } from "../helpers/delivery.ts";
import { resolveWith, startDnsServer, TYPE_A, type DnsServer } from "../helpers/dns-server.ts";
import { eventually } from "../helpers/eventually.ts";
import { tempDir } from "../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";
import { createTestCa, type ServerCert } from "./test-ca.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function receiver(): Promise<Receiver> {
  const rx = await startReceiver();
  cleanup.push(() => rx.stop());
  return rx;
}

async function dns(): Promise<DnsServer> {
  const d = await startDnsServer();
  cleanup.push(() => d.stop());
  return d;
}

// A documentation address (TEST-NET-1): public to the guard, and no receiver of the test's.
const PUBLIC = "192.0.2.1";
const VERSION = "0.0.0-test";

function attemptContext(guard: GuardOptions): AttemptContext {
  return {
    version: VERSION,
    timeoutMs: 1000,
    allowPrivateTargets: false,
    guard,
    tokens: new OAuth2Tokens({ timeoutMs: () => 1000, allowPrivateTargets: false, version: VERSION, guard }),
  };
}

type AttemptRow = { attempt: number; failure_code: string | null; response_code: number | null };

/** The real engine on a real store, sending one webhook's batch until it has been tried `n` times (or `rx` got it). */
async function attemptsBy(ctx: AttemptContext, target: string, n: number, rx: Receiver): Promise<AttemptRow[]> {
  const store: Store = openStore(path.join(tempDir(), "hookd.db"));
  const delivery = { ...defaultConfig().delivery, batch_max_wait: 0, timeout: 1000 };
  const engine: Engine = createEngine({
    store,
    delivery: () => delivery,
    log: silentLogger,
    version: VERSION,
    retryPolicy: FAST_RETRY,
    attempt: ctx,
  });
  cleanup.push(() => store.close());
  const now = Date.now();
  await store.webhooks.insert({
    id: ulid(now).toLowerCase(),
    name: "rebound",
    target,
    events: ["*"],
    verification: "none",
    secret: generateSecret(),
    cursorSeq: maxEventSeq(sqliteOf(store)),
    createdAt: now,
    updatedAt: now,
  });
  await storeEvents(store, [sampleEvent("delivery", { host: "mx.test", now })], "api");
  engine.start();
  try {
    const rows = () =>
      sqliteOf(store).query("SELECT attempt, failure_code, response_code FROM attempts ORDER BY attempt").all() as AttemptRow[];
    await eventually(() => rows().length >= n || rx.requests.length > 0, { timeoutMs: 15_000 });
    return rows().slice(0, n);
  } finally {
    await engine.stop();
  }
}

describe("a DNS that answers a public address, then 127.0.0.1 (rebinding)", () => {
  test("engine: the attempt goes to the checked public address, the next is refused; the receiver on 127.0.0.1 gets nothing", async () => {
    const rx = await receiver();
    const d = await dns();
    d.setAddresses("localhost", [[PUBLIC], ["127.0.0.1"]]);
    const rows = await attemptsBy(attemptContext({ resolve: resolveWith(d) }), `http://localhost:${rx.port}/hook`, 3, rx);
    // The first attempt went to the public address (whatever that did: refused, timed out);
    // the guard refused the ones after.
    expect(rows[0]!.failure_code).not.toBe("private_target");
    expect(rows.slice(1).map((r) => r.failure_code)).toEqual(["private_target", "private_target"]);
    expect(rx.requests).toHaveLength(0);
    // Each attempt asked the DNS once: the guard's answer is the one used.
    expect(d.queries.filter((q) => q.name === "localhost" && q.type === TYPE_A)).toHaveLength(3);
  }, 30_000);

  test("engine: a name that resolves only to 127.0.0.1 is refused at every attempt", async () => {
    const rx = await receiver();
    const d = await dns();
    d.setAddresses("hooks.test", [["127.0.0.1"]]);
    const rows = await attemptsBy(attemptContext({ resolve: resolveWith(d) }), `http://hooks.test:${rx.port}/hook`, 2, rx);
    expect(rows.map((r) => r.failure_code)).toEqual(["private_target", "private_target"]);
    expect(rx.requests).toHaveLength(0);
  }, 30_000);

  test("test POST / validate (sendNow): the same pinning; the receiver on 127.0.0.1 gets nothing", async () => {
    const rx = await receiver();
    const d = await dns();
    d.setAddresses("localhost", [[PUBLIC], ["127.0.0.1"]]);
    const ctx = attemptContext({ resolve: resolveWith(d) });
    const webhook: AttemptWebhook = {
      id: "wh_test",
      target: `http://localhost:${rx.port}/hook`,
      format: "hookd",
      secret: generateSecret(),
      previousSecret: null,
      previousSecretUntil: null,
      authType: "none",
      authToken: null,
      authCredentials: null,
      authRequestDetails: null,
      customHeaders: null,
      signingPrivateKey: null,
      ecdsaSigned: false,
    };
    const first = await sendNow(ctx, webhook, { events: [] }, Date.now());
    const second = await sendNow(ctx, webhook, { events: [] }, Date.now());
    expect({ first: first.result.kind === "private_target", second: second.result.kind }).toEqual({
      first: false,
      second: "private_target",
    });
    expect(rx.requests).toHaveLength(0);
  }, 30_000);

  test("OAuth2 token request: the same pinning; the token endpoint on 127.0.0.1 gets nothing", async () => {
    const rx = await receiver();
    rx.respondWith({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ access_token: "stolen" }) });
    const d = await dns();
    d.setAddresses("localhost", [[PUBLIC], ["127.0.0.1"]]);
    const tokens = attemptContext({ resolve: resolveWith(d) }).tokens;
    const details = { url: `http://localhost:${rx.port}/token`, body: { client_id: "c", client_secret: "s" } };
    const first = await tokens.get("wh_1", details);
    const second = await tokens.get("wh_1", details);
    expect(first.ok === false && first.detail).not.toContain("127.0.0.1");
    expect(second).toMatchObject({ ok: false, failureCode: "oauth2_unreachable" });
    expect(second.ok === false && second.detail).toContain("127.0.0.1");
    expect(rx.requests).toHaveLength(0);
  }, 30_000);
});

const post = (url: string, timeoutMs = 5000): PostBatchInput => ({
  url,
  body: new TextEncoder().encode('{"ok":true}'),
  headers: { "content-type": "application/json" },
  timeoutMs,
});

describe("postPinned: connect to a checked address, keep the name", () => {
  test("HTTP: a name no resolver knows reaches the address given; the receiver sees the name in Host", async () => {
    const rx = await receiver();
    const r = await postPinned(post(`http://hooks.test:${rx.port}/in/here?x=1`), ["127.0.0.1"]);
    expect(r).toMatchObject({ kind: "response", status: 200 });
    expect(rx.requests.map((q) => [q.path, q.headers.host])).toEqual([["/in/here", `hooks.test:${rx.port}`]]);
  });

  test("an address that refuses: the next checked address is tried, within the one timeout", async () => {
    const rx = await receiver();
    // The receiver listens on 127.0.0.1 only: 127.0.0.2 refuses the connection.
    const r = await postPinned(post(`http://hooks.test:${rx.port}/x`), ["127.0.0.2", "127.0.0.1"]);
    expect(r).toMatchObject({ kind: "response", status: 200 });
    expect(rx.requests).toHaveLength(1);
    const alone = await postPinned(post(`http://hooks.test:${rx.port}/x`), ["127.0.0.2"]);
    expect(alone.kind === "network" && failureCode(alone)).toBe("connection_refused");
  });

  describe("HTTPS", () => {
    const testCa = createTestCa();
    const certs = { hooks: testCa.issue("hooks.test"), other: testCa.issue("other.test") };

    function tlsReceiver(tls: (ServerCert & { serverName?: string })[]) {
      const seen: { host: string | null }[] = [];
      const server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        tls,
        fetch(req) {
          seen.push({ host: req.headers.get("host") });
          return new Response("ok");
        },
      });
      cleanup.push(() => server.stop(true));
      return { port: server.port!, seen };
    }

    test("SNI names the host: a receiver with a certificate per name answers each name with its own, verified for it", async () => {
      // The first certificate is the default: only a client that sends SNI "other.test" gets the second.
      const srv = tlsReceiver([
        { serverName: "hooks.test", ...certs.hooks },
        { serverName: "other.test", ...certs.other },
      ]);
      for (const name of ["other.test", "hooks.test"]) {
        const r = await postPinned(post(`https://${name}:${srv.port}/x`), ["127.0.0.1"], testCa.ca);
        expect({ name, r }).toMatchObject({ name, r: { kind: "response", status: 200 } });
      }
      expect(srv.seen.map((s) => s.host)).toEqual([`other.test:${srv.port}`, `hooks.test:${srv.port}`]);
    });

    test("the certificate is verified for the name: another name's certificate fails as tls, and so does an untrusted CA", async () => {
      const srv = tlsReceiver([certs.hooks]);
      const wrongName = await postPinned(post(`https://wrong.test:${srv.port}/x`), ["127.0.0.1"], testCa.ca);
      expect(wrongName.kind === "network" && failureCode(wrongName)).toBe("tls");
      // Without the test's CA the system's trust store decides: verification is never off.
      const untrusted = await postPinned(post(`https://hooks.test:${srv.port}/x`), ["127.0.0.1"]);
      expect(untrusted.kind === "network" && failureCode(untrusted)).toBe("tls");
      expect(srv.seen).toHaveLength(0);
    });

    test("a connection verified for one name is not reused for another name pinned to the same address", async () => {
      const srv = tlsReceiver([certs.hooks]);
      const good = await postPinned(post(`https://hooks.test:${srv.port}/x`), ["127.0.0.1"], testCa.ca);
      expect(good).toMatchObject({ kind: "response", status: 200 });
      // Same address and port, kept alive: a pool keyed on the address alone would send this
      // over the connection verified for hooks.test.
      const other = await postPinned(post(`https://wrong.test:${srv.port}/x`), ["127.0.0.1"], testCa.ca);
      expect(other.kind === "network" && failureCode(other)).toBe("tls");
      expect(srv.seen.map((s) => s.host)).toEqual([`hooks.test:${srv.port}`]);
    });
  });
});
