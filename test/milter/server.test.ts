// The listener: the listen string, TCP and unix sockets (permissions, stale files), and
// stop() letting a message in flight finish up to a deadline.
import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseListen, formatListen } from "../../src/milter/listen.ts";
import { createMilterServer, type MilterServer } from "../../src/milter/server.ts";
import { connectMta, type MtaClient } from "./mta-client.ts";
import { POSTFIX_ACTIONS, POSTFIX_PROTOCOL, optneg, packet, postfixMessage } from "./wire.ts";

const servers: MilterServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop({ deadlineMs: 500 });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "hookd-milter-"));
  dirs.push(d);
  return d;
}

function track(s: MilterServer): MilterServer {
  servers.push(s);
  return s;
}

const oneMessage = (queueId: string) =>
  postfixMessage({ queueId, from: "a@x.test", rcpts: ["b@y.test"], headers: [["Subject", " s"]], bodyChunks: ["b\r\n"] });

async function negotiatedClient(to: { port: number } | { path: string }): Promise<MtaClient> {
  const mta = await connectMta(to);
  mta.send(optneg(6, POSTFIX_ACTIONS, POSTFIX_PROTOCOL));
  expect((await mta.next()).code).toBe("O");
  return mta;
}

describe("the listen string", () => {
  test("host:port, [IPv6]:port, unix:/path", () => {
    expect(parseListen("127.0.0.1:8891")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 8891 });
    expect(parseListen(" localhost:0 ")).toEqual({ kind: "tcp", host: "localhost", port: 0 });
    expect(parseListen("[::1]:8891")).toEqual({ kind: "tcp", host: "::1", port: 8891 });
    expect(parseListen("unix:/run/hookd/milter.sock")).toEqual({ kind: "unix", path: "/run/hookd/milter.sock" });
    expect(formatListen(parseListen("[::1]:8891"))).toBe("[::1]:8891");
  });

  const bad: [string, RegExp][] = [
    ["", /is empty/],
    ["8891", /expected "host:port"/],
    ["127.0.0.1", /expected "host:port"/],
    ["127.0.0.1:", /expected "host:port"/],
    ["127.0.0.1:65536", /port 65536 is over 65535/],
    ["127.0.0.1:port", /expected "host:port"/],
    ["999.1.1.1:25", /"999.1.1.1" is not an IPv4 address or a host name/],
    ["::1:8891", /expected "host:port"/],
    ["[localhost]:25", /brackets are for IPv6/],
    ["inet:127.0.0.1:8891", /without Postfix's "inet:" prefix/],
    ["unix:relative.sock", /must be absolute/],
    ["unix:/run/hookd/", /names a directory/],
    [`unix:/${"x".repeat(120)}`, /longer than 107 bytes/],
  ];
  for (const [text, why] of bad) {
    test(`refused: ${JSON.stringify(text)}`, () => {
      expect(() => parseListen(text)).toThrow(why);
    });
  }

  test("a bad listen string fails at creation, before anything is bound", () => {
    expect(() => createMilterServer({ listen: "nowhere", handler: () => null })).toThrow(/milter listen "nowhere"/);
  });
});

describe("TCP", () => {
  test("binds 127.0.0.1 on the given port (0: any) and reports it", async () => {
    const s = track(createMilterServer({ listen: "127.0.0.1:0", handler: () => null }));
    await s.start();
    const a = s.address!;
    expect(a.kind === "tcp" && a.port > 0).toBe(true);
    const mta = await negotiatedClient({ port: a.kind === "tcp" ? a.port : 0 });
    mta.send(oneMessage("T1"));
    expect((await mta.next()).code).toBe("a");
  });

  test("a port in use is a clear error", async () => {
    const s = track(createMilterServer({ listen: "127.0.0.1:0", handler: () => null }));
    await s.start();
    const port = s.address!.kind === "tcp" ? s.address!.port : 0;
    const other = createMilterServer({ listen: `127.0.0.1:${port}`, handler: () => null });
    await expect(other.start()).rejects.toThrow(`milter: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
});

describe("unix socket", () => {
  test("created 0660 (or as configured), serves, and is removed on stop", async () => {
    const path = join(tempDir(), "milter.sock");
    const s = createMilterServer({ listen: `unix:${path}`, handler: () => null });
    await s.start();
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    const mta = await negotiatedClient({ path });
    mta.send(oneMessage("U1"));
    expect((await mta.next()).code).toBe("a");
    mta.send(packet("Q"));
    await mta.closed();
    await s.stop();
    expect(existsSync(path)).toBe(false);

    const strict = track(createMilterServer({ listen: `unix:${path}`, handler: () => null, socketMode: 0o600 }));
    await strict.start();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("a stale socket file (its process killed) is removed and replaced", async () => {
    const path = join(tempDir(), "stale.sock");
    const child = Bun.spawn(
      [process.execPath, "-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`],
      {
        stdout: "pipe",
      },
    );
    const reader = child.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("up");
    child.kill(9);
    await child.exited;
    expect(statSync(path).isSocket()).toBe(true);
    const s = track(createMilterServer({ listen: `unix:${path}`, handler: () => null }));
    await s.start();
    const mta = await negotiatedClient({ path });
    mta.send(oneMessage("S1"));
    expect((await mta.next()).code).toBe("a");
  });

  test("a path that is not a socket is left alone", async () => {
    const path = join(tempDir(), "file.sock");
    writeFileSync(path, "precious");
    await expect(createMilterServer({ listen: `unix:${path}`, handler: () => null }).start()).rejects.toThrow(
      `milter: ${path} exists and is not a socket; not removing it`,
    );
    expect(readFileSync(path, "utf8")).toBe("precious");
  });

  test("a socket another process listens on is not taken over", async () => {
    const path = join(tempDir(), "live.sock");
    const other = net.createServer(() => {});
    await new Promise<void>((r) => other.listen(path, r));
    try {
      await expect(createMilterServer({ listen: `unix:${path}`, handler: () => null }).start()).rejects.toThrow(
        `${path} is in use by another process`,
      );
      expect(statSync(path).isSocket()).toBe(true);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});

describe("stop()", () => {
  async function withBlockedHandler(deadlineMs: number) {
    let release: (v: null) => void = () => {};
    let entered: () => void = () => {};
    const inHandler = new Promise<void>((r) => (entered = r));
    const s = createMilterServer({
      listen: "127.0.0.1:0",
      handler: () => {
        entered();
        return new Promise<null>((r) => (release = r));
      },
      handlerTimeoutMs: 60_000,
    });
    await s.start();
    const port = s.address!.kind === "tcp" ? s.address!.port : 0;
    const idle = await negotiatedClient({ port });
    const busy = await negotiatedClient({ port });
    busy.send(oneMessage("F1"));
    await inHandler;
    const stopped = s.stop({ deadlineMs });
    return { s, port, idle, busy, stopped, release: () => release(null) };
  }

  test("closes idle connections at once, lets a message in flight finish, refuses new ones", async () => {
    const { port, idle, busy, stopped, release } = await withBlockedHandler(10_000);
    await idle.closed();
    await expect(connectMta({ port }).then((c) => c.next(1_000))).rejects.toThrow();
    release();
    expect((await busy.next()).code).toBe("a");
    await busy.closed();
    await stopped;
  });

  test("at the deadline, closes a message still in flight without a reply", async () => {
    const { busy, stopped } = await withBlockedHandler(200);
    const t0 = Date.now();
    await busy.closed(5_000);
    await stopped;
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});
