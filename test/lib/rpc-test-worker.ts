// A worker for test/lib/worker-rpc.test.ts: a few methods that answer, fail, hang, notify and die.
import { threadId, workerData } from "node:worker_threads";
import { notifyParent, serveRpc } from "../../src/lib/worker-rpc.ts";

let release = () => {};
const released = new Promise<void>((resolve) => (release = resolve));

const methods = {
  echo: <T>(x: T): T => x,
  fail: (message: string): never => {
    throw new Error(message);
  },
  failLater: async (message: string): Promise<never> => {
    await Promise.resolve();
    throw new Error(message);
  },
  /** Answers once release() was called: a call that is answered after later ones. */
  doubleWhenReleased: async (n: number): Promise<number> => {
    await released;
    return n * 2;
  },
  release: (): void => release(),
  /** Never answers: a call that is still waiting when the worker dies. */
  hang: (): Promise<never> => new Promise(() => {}),
  /** Ends the worker in the middle of this call. */
  exit: (code: number): never => process.exit(code),
  /** One-way only: the exception escapes the worker. */
  crash: (message: string): never => {
    throw new Error(message);
  },
  /** Notifies 0..n-1, then answers n. */
  count: (n: number): number => {
    for (let i = 0; i < n; i++) notifyParent<number>(i);
    return n;
  },
  started: () => ({ threadId, workerData: workerData as unknown }),
};

export type TestMethods = typeof methods;

serveRpc(methods);
