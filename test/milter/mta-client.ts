// A tiny MTA side for the tests: connects to the milter over real TCP (or a unix socket),
// writes raw bytes as Postfix would, and reads the milter's packets one by one.
import net from "node:net";
import { within } from "../helpers/deadline.ts";
import { splitPackets, type Packet } from "./wire.ts";

export type MtaClient = {
  send(...data: Buffer[]): void;
  /** The next packet from the milter; rejects if the connection closes first or after timeoutMs. */
  next(timeoutMs?: number): Promise<Packet>;
  /** The next n packets. */
  take(n: number, timeoutMs?: number): Promise<Packet[]>;
  /** Resolves when the milter closes the connection; rejects if a packet arrives instead. */
  closed(timeoutMs?: number): Promise<void>;
  end(): void;
};

export function connectMta(to: { port: number } | { path: string }): Promise<MtaClient> {
  return new Promise((resolve, reject) => {
    const sock = "path" in to ? net.connect(to.path) : net.connect(to.port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const packets: Packet[] = [];
    let isClosed = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    sock.on("data", (chunk: Buffer) => {
      const r = splitPackets(Buffer.concat([buf, chunk]));
      buf = Buffer.from(r.rest);
      packets.push(...r.packets);
      poke();
    });
    sock.on("close", () => {
      isClosed = true;
      poke();
    });
    sock.on("error", () => {});
    sock.once("connect", () => resolve(client));
    sock.once("error", reject);

    /** Until ready() holds; checked again on each packet and on close. */
    const wait = async (ready: () => boolean, timeoutMs: number, what: string) => {
      const deadline = Date.now() + timeoutMs;
      while (!ready()) {
        const poked = new Promise<void>((r) => (wake = r));
        if ((await within(poked, deadline - Date.now(), "timeout" as const)) === "timeout") {
          throw new Error(`mta client: ${what} within ${timeoutMs}ms`);
        }
      }
    };

    const client: MtaClient = {
      send: (...data) => void sock.write(Buffer.concat(data)),
      async next(timeoutMs = 5_000) {
        await wait(() => packets.length > 0 || isClosed, timeoutMs, "no packet");
        const p = packets.shift();
        if (!p) throw new Error("mta client: connection closed while waiting for a packet");
        return p;
      },
      async take(n, timeoutMs = 5_000) {
        const out: Packet[] = [];
        for (let i = 0; i < n; i++) out.push(await client.next(timeoutMs));
        return out;
      },
      async closed(timeoutMs = 5_000) {
        await wait(() => packets.length > 0 || isClosed, timeoutMs, "connection not closed");
        if (packets.length > 0) throw new Error(`mta client: got packet '${packets[0]!.code}' instead of the close`);
      },
      end: () => void sock.destroy(),
    };
  });
}
