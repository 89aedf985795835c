// security.allow_private_targets = false: hookd must not be a way to reach the mail host's
// own services or a cloud metadata endpoint — refused when a webhook is created or changed,
// and again at every send (a row can predate the setting, a DNS answer can change).
// Only loopback is ever contacted here; other addresses appear only in pure-function cases.
import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { startHookd, type Hookd } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { generateSecret } from "../../src/deliver/sign.ts";
import { isPrivateAddress, privateTargetReason } from "../../src/deliver/target-guard.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { ulid } from "ulid";
import { batchStatus, eventuallyValue, FAST_RETRY, makeEvents, postEvents, results } from "../helpers/delivery.ts";
import { errorBody, tempDir } from "../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";

type App = { hookd: Hookd; key: string; api(method: string, pathname: string, body?: unknown): Promise<Response> };

let app: App | null = null;
let rx: Receiver | null = null;
afterEach(async () => {
  await app?.hookd.stop();
  await rx?.stop();
  app = null;
  rx = null;
});

/** hookd in-process, configured the way an operator would: through HOOKD_* variables. */
async function startGuarded(extraEnv: Record<string, string> = {}): Promise<App> {
  const dir = tempDir();
  const { config } = loadConfig({
    env: {
      HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: "false",
      HOOKD_SERVER_LISTEN: "127.0.0.1:0",
      HOOKD_STORAGE_PATH: path.join(dir, "hookd.db"),
      HOOKD_DELIVERY_BATCH_MAX_WAIT: "20ms",
      ...extraEnv,
    },
    cwd: dir,
    etcPath: path.join(dir, "no-such-etc.toml"),
  });
  expect(config.security.allow_private_targets).toBe((extraEnv.HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS ?? "false") === "true");
  let key = "";
  const hookd = await startHookd({ config, log: silentLogger, announceKey: (k) => (key = k), retryPolicy: FAST_RETRY });
  return {
    hookd,
    key,
    api: (method, pathname, body) =>
      fetch(`${hookd.url}/api/v1${pathname}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      }),
  };
}

/** A webhook row written straight into the store, as one created before the setting changed. */
async function insertRow(a: App, target: string): Promise<string> {
  const now = Date.now();
  const id = ulid(now).toLowerCase();
  await a.hookd.store.webhooks.insert({
    id,
    name: "predates the setting",
    target,
    events: ["*"],
    verification: "none",
    secret: generateSecret(),
    cursorSeq: await a.hookd.store.events.maxSeq(),
    createdAt: now,
    updatedAt: now,
  });
  a.hookd.engine.notify();
  return id;
}

describe("allow_private_targets = false, at create and update", () => {
  const loopbackTargets = (port: number) => [
    `http://127.0.0.1:${port}/`,
    `http://localhost:${port}/`,
    `http://127.1.2.3:${port}/hook`,
    `http://[::1]:${port}/`,
    `http://2130706433:${port}/`, // 127.0.0.1 as one number
  ];
  // IPv4-mapped IPv6: the URL parser turns it into [::ffff:7f00:1], which connects to 127.0.0.1.
  const mappedTarget = (port: number) => `http://[::ffff:127.0.0.1]:${port}/mapped`;

  for (const verification of ["test_post", "none"]) {
    test(`a loopback target → 400 invalid_url naming target, nothing stored, nothing sent (verification ${verification})`, async () => {
      rx = await startReceiver();
      app = await startGuarded();
      const refused: string[] = [];
      for (const target of loopbackTargets(rx.port)) {
        const res = await app.api("POST", "/webhooks", { name: "local", target, events: ["*"], verification });
        if (res.status !== 400) {
          refused.push(`${target} → ${res.status}`);
          continue;
        }
        const body = await errorBody(res);
        expect(body.errors).toHaveLength(1);
        expect(body.errors[0]).toMatchObject({ code: "invalid_url", field: "target" });
        expect(body.errors[0]!.message).toContain("target");
        expect(body.errors[0]!.message).toContain("allow_private_targets");
      }
      expect(refused).toEqual([]);
      expect(await results<unknown[]>(app.api("GET", "/webhooks"))).toEqual([]);
      expect(rx.requests).toHaveLength(0);
    }, 20_000);
  }

  // A documentation address (TEST-NET-1) passes the guard; no event is posted in this test,
  // so nothing is ever sent to it.
  const PUBLIC_TARGET = "http://192.0.2.1/never-contacted";

  test("changing a target to loopback → 400 invalid_url naming target; the stored target stays", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const id = await insertRow(app, PUBLIC_TARGET);
    for (const target of loopbackTargets(rx.port)) {
      const res = await app.api("PATCH", `/webhooks/${id}`, { target });
      expect({ target, status: res.status }).toEqual({ target, status: 400 });
      expect((await errorBody(res)).errors[0]).toMatchObject({ code: "invalid_url", field: "target" });
    }
    expect((await results<{ target: string }>(app.api("GET", `/webhooks/${id}`))).target).toBe(PUBLIC_TARGET);
    expect(rx.requests).toHaveLength(0);
  }, 20_000);

  test("the IPv4-mapped spelling of loopback is refused too, at create and at update", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const created = await app.api("POST", "/webhooks", {
      name: "mapped",
      target: mappedTarget(rx.port),
      events: ["*"],
      verification: "none",
    });
    const id = await insertRow(app, PUBLIC_TARGET);
    const patched = await app.api("PATCH", `/webhooks/${id}`, { target: mappedTarget(rx.port) });
    expect({ create: created.status, update: patched.status }).toEqual({ create: 400, update: 400 });
    expect((await errorBody(created)).errors[0]).toMatchObject({ code: "invalid_url", field: "target" });
    expect(rx.requests).toHaveLength(0);
  }, 20_000);

  test("an OAuth2 token URL on loopback → 400 invalid_url naming auth_request_details.url", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const res = await app.api("POST", "/webhooks", {
      name: "oauth",
      target: PUBLIC_TARGET,
      events: ["*"],
      verification: "none",
      auth_type: "oauth2",
      auth_request_details: { url: `http://localhost:${rx.port}/token`, body: { client_id: "c", client_secret: "s" } },
    });
    expect(res.status).toBe(400);
    const err = (await errorBody(res)).errors[0]!;
    expect(err).toMatchObject({ code: "invalid_url", field: "auth_request_details.url" });
    expect(err.message).toContain("auth_request_details.url");
    expect(await results<unknown[]>(app.api("GET", "/webhooks"))).toEqual([]);
    expect(rx.requests).toHaveLength(0);
  }, 20_000);
});

// Every spelling of an address that reaches the mail host itself: the IPv6 forms that carry an
// IPv4 address (judged by that address), a deprecated private IPv6 range, and the URL's own
// IPv4 forms (the WHATWG parser turns them into 127.0.0.1 before the guard sees them).
const embeddedLoopback = (port: number): Record<string, string> => ({
  "/translated": `http://[::ffff:0:127.0.0.1]:${port}/translated`, // ::ffff:0:0/96, IPv4-translated
  "/mapped": `http://[::ffff:127.0.0.1]:${port}/mapped`, // ::ffff:0/96, IPv4-mapped
  "/compatible": `http://[::127.0.0.1]:${port}/compatible`, // ::/96, IPv4-compatible
  "/nat64": `http://[64:ff9b::127.0.0.1]:${port}/nat64`, // 64:ff9b::/96
  "/nat64-local": `http://[64:ff9b:1::7f00:1]:${port}/nat64-local`, // 64:ff9b:1::/48, local-use
  "/6to4": `http://[2002:7f00:1::1]:${port}/6to4`, // 2002::/16 carrying 127.0.0.1
  "/teredo": `http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:${port}/teredo`, // client 127.0.0.1, bits flipped
  "/site-local": `http://[fec0::1]:${port}/site-local`, // fec0::/10
  "/decimal": `http://2130706433:${port}/decimal`,
  "/octal": `http://0177.0.0.1:${port}/octal`,
  "/hex": `http://0x7f.1:${port}/hex`,
  "/short": `http://127.1:${port}/short`,
});

describe("allow_private_targets = false, every spelling of an inside address", () => {
  test("the URL parser writes the IPv4 forms as a dotted quad, and the IPv6 forms in hex: what the guard judges", () => {
    const hosts = Object.values(embeddedLoopback(9)).map((u) => new URL(u).hostname);
    expect(hosts).toEqual([
      "[::ffff:0:7f00:1]",
      "[::ffff:7f00:1]",
      "[::7f00:1]",
      "[64:ff9b::7f00:1]",
      "[64:ff9b:1::7f00:1]",
      "[2002:7f00:1::1]",
      "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
      "[fec0::1]",
      "127.0.0.1",
      "127.0.0.1",
      "127.0.0.1",
      "127.0.0.1",
    ]);
  });

  test("each → 400 invalid_url naming target at create; nothing stored, nothing sent", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const statuses: Record<string, number> = {};
    for (const [name, target] of Object.entries(embeddedLoopback(rx.port))) {
      const res = await app.api("POST", "/webhooks", { name, target, events: ["*"], verification: "none" });
      statuses[name] = res.status;
      if (res.status === 400) expect((await errorBody(res)).errors[0]).toMatchObject({ code: "invalid_url", field: "target" });
    }
    expect(statuses).toEqual(Object.fromEntries(Object.keys(embeddedLoopback(0)).map((k) => [k, 400])));
    expect(await results<unknown[]>(app.api("GET", "/webhooks"))).toEqual([]);
    expect(rx.requests).toHaveLength(0);
  }, 30_000);
});

describe("allow_private_targets = false, at send time", () => {
  type Outcome = {
    path: string;
    attempts: number;
    state: string;
    failure_code: string | null;
    response_code: string | null;
    last_failure_code: string | null;
  };

  /** Inserts one row per path, posts events, and waits until each row's first batch has been tried twice (or finished). */
  async function sendTo(a: App, targets: Record<string, string>): Promise<Outcome[]> {
    const rows: { path: string; id: string }[] = [];
    for (const [p, target] of Object.entries(targets)) rows.push({ path: p, id: await insertRow(a, target) });
    await postEvents({ api: (m, p, o) => a.api(m, p, o?.body) }, makeEvents(3, "priv"));
    const out: Outcome[] = [];
    for (const { path: p, id } of rows) {
      const batches = await eventuallyValue(
        async () => {
          const b = await batchStatus({ api: (m, q) => a.api(m, q) }, id);
          return b.length > 0 && (b[0]!.attempts >= 2 || b[0]!.state !== "pending") && b;
        },
        { timeoutMs: 10_000 },
      );
      const hook = await results<{ last_failure_code: string | null }>(a.api("GET", `/webhooks/${id}`));
      const { attempts, state, failure_code, response_code } = batches[0]!;
      out.push({ path: p, attempts: Math.min(attempts, 2), state, failure_code, response_code, last_failure_code: hook.last_failure_code });
    }
    return out;
  }

  const refused = (p: string): Outcome => ({
    path: p,
    attempts: 2,
    state: "pending",
    failure_code: "private_target",
    response_code: null,
    last_failure_code: "private_target",
  });

  test("stored webhooks pointing at 127.0.0.1 and localhost get no request; batch-status shows failure_code private_target", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const outcomes = await sendTo(app, { "/ip": `http://127.0.0.1:${rx.port}/ip`, "/name": `http://localhost:${rx.port}/name` });
    expect(outcomes).toEqual([refused("/ip"), refused("/name")]);
    expect(rx.requests.map((r) => r.path)).toEqual([]);
  }, 30_000);

  test("a stored webhook pointing at [::ffff:127.0.0.1] (IPv4-mapped loopback) gets no request either", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const outcomes = await sendTo(app, { "/mapped": `http://[::ffff:127.0.0.1]:${rx.port}/mapped` });
    expect({ outcomes, received: rx.requests.map((r) => r.path) }).toEqual({ outcomes: [refused("/mapped")], received: [] });
  }, 30_000);

  test("stored webhooks with every spelling of an inside address are refused at every attempt; the receiver gets nothing", async () => {
    rx = await startReceiver();
    app = await startGuarded();
    const targets = embeddedLoopback(rx.port);
    const outcomes = await sendTo(app, targets);
    expect({ outcomes, received: rx.requests.map((r) => r.path) }).toEqual({ outcomes: Object.keys(targets).map(refused), received: [] });
  }, 60_000);

  test("the same row with allow_private_targets = true is delivered (the guard, not the receiver, made the difference)", async () => {
    rx = await startReceiver();
    app = await startGuarded({ HOOKD_SECURITY_ALLOW_PRIVATE_TARGETS: "true" });
    await insertRow(app, `http://127.0.0.1:${rx.port}/ip`);
    await postEvents({ api: (m, p, o) => app!.api(m, p, o?.body) }, makeEvents(2, "allowed"));
    await rx.waitFor((r) => r.length >= 1, 10_000);
    expect(rx.requests[0]!.path).toBe("/ip");
  }, 30_000);
});

describe("isPrivateAddress", () => {
  const privateOnes = [
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.20.10.5",
    "172.31.255.255",
    "192.168.0.1",
    "192.168.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "0.0.0.0",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "febf::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "[::1]",
    // The same addresses in other spellings an address can come in.
    "::ffff:7f00:1", // ::ffff:127.0.0.1 as the URL parser writes it
    "::ffff:a9fe:a9fe", // ::ffff:169.254.169.254
    "::FFFF:7F00:0001",
    "0:0:0:0:0:0:0:1", // ::1 uncompressed
    "0000:0000:0000:0000:0000:ffff:7f00:0001",
    // IPv6 forms that carry a private IPv4 address, judged by it.
    "::ffff:0:127.0.0.1", // IPv4-translated ::ffff:0:0/96
    "::ffff:0:7f00:1",
    "::ffff:0:a00:1", // 10.0.0.1
    "::7f00:1", // IPv4-compatible
    "64:ff9b::7f00:1", // NAT64
    "64:ff9b::a9fe:a9fe", // NAT64 to the metadata address
    "64:ff9b:1::808:808", // local-use NAT64: the IPv4 address's place is a local choice, refused whole
    "2002:7f00:1::1", // 6to4 of 127.0.0.1
    "2002:c0a8:101::1", // 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1 (bits flipped)
    "2001:0:4136:e378:8000:63bf:5601:fffe", // Teredo, client 169.254.0.1
    "fec0::1", // site-local
    "fd00:ec2::254", // AWS metadata
    // Not an address (a spelling only a URL parser reads): refused rather than guessed.
    "0x7f.1",
    "127.1",
    "2130706433",
  ];
  const publicOnes = [
    "8.8.8.8",
    "1.1.1.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.169.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "11.0.0.1",
    "2001:4860::",
    "2001:4860:4860::8888",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "::ffff:808:808", // ::ffff:8.8.8.8 in hex
    "::ffff:0:808:808", // IPv4-translated 8.8.8.8
    "64:ff9b::808:808", // NAT64 to 8.8.8.8
    "2002:808:808::1", // 6to4 of 8.8.8.8
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo (RFC 4380's example): server 65.54.227.120, client 192.0.2.45
  ];
  for (const ip of privateOnes) test(`${ip} is private`, () => expect(isPrivateAddress(ip)).toBe(true));
  for (const ip of publicOnes) test(`${ip} is public`, () => expect(isPrivateAddress(ip)).toBe(false));

  test("privateTargetReason checks IP literals without DNS, and names the address", async () => {
    expect(await privateTargetReason("http://127.0.0.1:9/")).toContain("127.0.0.1");
    expect(await privateTargetReason("http://[::1]:9/")).toContain("::1");
    expect(await privateTargetReason("http://169.254.169.254/latest/meta-data/")).toContain("169.254.169.254");
    expect(await privateTargetReason("http://8.8.8.8/")).toBeNull();
  });

  test("privateTargetReason refuses an IPv4-mapped loopback URL (the URL parser writes it as ::ffff:7f00:1)", async () => {
    expect(new URL("http://[::ffff:127.0.0.1]:9/").hostname).toBe("[::ffff:7f00:1]");
    expect(await privateTargetReason("http://[::ffff:127.0.0.1]:9/")).toContain("::ffff:7f00:1");
  });
});
