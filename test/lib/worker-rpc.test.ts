// The request/response helper over a real Worker (test/lib/rpc-test-worker.ts): answers and
// errors come back to the right call, notes arrive in order, and a worker that dies fails what
// waits on it and is started again, from the state saved by then, on the next call.
import { afterEach, describe, expect, test } from "bun:test";
import { rpcClient, type RpcClient, type RpcClientOptions } from "../../src/lib/worker-rpc.ts";
import type { TestMethods } from "./rpc-test-worker.ts";

const ENTRY = new URL("./rpc-test-worker.ts", import.meta.url).href;
const clients: RpcClient<TestMethods>[] = [];

function client(opts: Partial<RpcClientOptions<number>> = {}): RpcClient<TestMethods> {
  const c = rpcClient<TestMethods, number>({ entry: ENTRY, name: "the test worker", ...opts });
  clients.push(c);
  return c;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** "resolved", "rejected" or "waiting", as p stands (updated as it settles). */
function settled(p: Promise<unknown>): { state: string } {
  const s = { state: "waiting" };
  p.then(
    () => (s.state = "resolved"),
    () => (s.state = "rejected"),
  );
  return s;
}

/** The message p rejects with ("resolved" if it does not). Handles the rejection at once: bun's expect().rejects waits for the promise where it is written. */
function rejection(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "resolved",
    (e: Error) => e.message,
  );
}

describe("rpcClient / serveRpc", () => {
  test("a call gets its method's answer, structured-cloned; no worker runs before the first call", async () => {
    const c = client();
    expect(c.running).toBe(false);
    const value = { a: [1, 2], m: new Map([["k", new Set(["v"])]]), d: new Date(5) };
    expect(await c.call("echo", value)).toEqual(value);
    expect(c.running).toBe(true);
  });

  test("answers reach their own calls when they come back out of order", async () => {
    const c = client();
    const slow = c.call("doubleWhenReleased", 21);
    const first = settled(slow);
    expect(await c.call("echo", "now")).toBe("now");
    expect(first.state).toBe("waiting");
    await c.call("release");
    expect(await slow).toBe(42);
  });

  test("a method's exception or rejection rejects its call with the message; the worker goes on", async () => {
    const c = client();
    expect(await rejection(c.call("fail", "no such source"))).toBe("no such source");
    expect(await rejection(c.call("failLater", "store is busy"))).toBe("store is busy");
    const unknown = c as unknown as RpcClient<{ nope(): void }>;
    expect(await rejection(unknown.call("nope"))).toBe('no method "nope"');
    const before = await c.call("started");
    expect(await c.call("echo", 1)).toBe(1);
    expect((await c.call("started")).threadId).toBe(before.threadId);
  });

  test("notes arrive in the order sent, before the answer of the call that sent them", async () => {
    const notes: number[] = [];
    const c = client({ onNote: (n) => notes.push(n) });
    const answer = await c.call("count", 500);
    expect(answer).toBe(500);
    expect(notes).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  test("a worker that exits mid-call fails every waiting call; the next call starts one from the state saved by then", async () => {
    let saved = { generation: 1 };
    const exits: string[] = [];
    const c = client({ workerData: () => saved, onExit: (why) => exits.push(why) });
    const first = await c.call("started");
    expect(first.workerData).toEqual({ generation: 1 });

    const waiting = rejection(c.call("hang"));
    saved = { generation: 2 };
    const dying = rejection(c.call("exit", 7));
    expect(await dying).toBe("the test worker exited (exit code 7)");
    expect(await waiting).toBe("the test worker exited (exit code 7)");
    expect(exits).toEqual(["the test worker exited (exit code 7)"]);
    expect(c.running).toBe(false);

    const second = await c.call("started");
    expect(second.threadId).not.toBe(first.threadId);
    expect(second.workerData).toEqual({ generation: 2 });
    expect(await c.call("echo", "after")).toBe("after");
  });

  test("an exception that escapes the worker (a one-way message) ends it the same way, with its message", async () => {
    let exited!: () => void;
    const exit = new Promise<void>((resolve) => (exited = resolve));
    const why: string[] = [];
    const c = client({
      onExit: (w) => {
        why.push(w);
        exited();
      },
    });
    const before = await c.call("started");
    const waiting = rejection(c.call("hang"));
    c.send("crash", "parser bug");
    await exit;
    expect(await waiting).toBe("the test worker exited (error: parser bug)");
    expect(why).toEqual(["the test worker exited (error: parser bug)"]);
    expect((await c.call("started")).threadId).not.toBe(before.threadId);
  });

  test("forget drops the waiting calls unsettled; their answers, when they come, go nowhere", async () => {
    const c = client();
    const dropped = settled(c.call("echo", "old"));
    c.forget();
    // Answers come in order: once this one is in, the dropped call's answer came and was ignored.
    expect(await c.call("echo", "new")).toBe("new");
    expect(dropped.state).toBe("waiting");
  });

  test("close ends the worker for good: waiting calls reject, later ones at once, without an exit report", async () => {
    const exits: string[] = [];
    const c = client({ onExit: (w) => exits.push(w) });
    await c.call("echo", 1);
    const waiting = rejection(c.call("hang"));
    c.close();
    expect(await waiting).toBe("the test worker is closed");
    expect(await rejection(c.call("echo", 2))).toBe("the test worker is closed");
    expect(c.running).toBe(false);
    expect(exits).toEqual([]);
  });
});
