// The milter listener: TCP ("127.0.0.1:8891") or a unix socket ("unix:/path"), one
// MilterSession per MTA connection.
//
// A unix socket is created with mode 0660 (umask 0177 while binding, then chmod), so only its
// owner and group — give the group to postfix — can connect; a stale socket file is removed
// first, but a path held by a live listener or that is not a socket is an error.
// stop() stops accepting, closes connections that are between messages, lets the others
// finish the message they are on (up to a deadline), then closes whatever is left: Postfix
// applies milter_default_action (accept) to a message whose milter went away.
import net from "node:net";
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { parseListen, formatListen, type ListenAddress } from "./listen.ts";
import { prepareQuickAck, quickAck } from "./quickack.ts";
import { MilterSession, type SessionOptions } from "./session.ts";

export type MilterServerOptions = SessionOptions & {
  listen: string | ListenAddress;
  /** Permissions of a unix socket (default 0o660). */
  socketMode?: number;
  /** A connection silent this long is closed (default 10 minutes; Postfix's own SMTP
   *  timeouts are shorter, so only a stuck peer reaches it). */
  idleTimeoutMs?: number;
};

export type MilterServer = {
  start(): Promise<void>;
  /** Resolves once every connection is closed (and a unix socket file removed). */
  stop(opts?: { deadlineMs?: number }): Promise<void>;
  /** Where it listens once started: the bound port for "host:0". */
  readonly address: ListenAddress | null;
  readonly connections: number;
};

export const DEFAULT_STOP_DEADLINE_MS = 10_000;

export function createMilterServer(opts: MilterServerOptions): MilterServer {
  const listen = typeof opts.listen === "string" ? parseListen(opts.listen) : opts.listen;
  const sessions = new Map<net.Socket, MilterSession>();
  let server: net.Server | null = null;
  let bound: ListenAddress | null = null;
  let stopping = false;

  const onConnection = (sock: net.Socket) => {
    if (stopping) return void sock.destroy();
    sock.setNoDelay(true); // one small reply per message: never wait for Nagle
    sock.setTimeout(opts.idleTimeoutMs ?? 10 * 60_000, () => sock.destroy());
    // end(): everything written reaches the kernel, then the socket closes without waiting
    // for the MTA's side.
    const io = { write: (d: Uint8Array) => void sock.write(d), end: () => void sock.end(() => sock.destroy()) };
    const session = new MilterSession(io, opts);
    sessions.set(sock, session);
    const tcp = listen.kind === "tcp";
    sock.on("data", (chunk: Buffer) => {
      if (tcp) quickAck(sock); // quickack.ts: Postfix's Nagle would wait ~40 ms for our ACK
      const done = session.push(chunk);
      // While the handler works the MTA waits for our reply; read nothing more meanwhile.
      if (session.busy) {
        sock.pause();
        void done.then(() => {
          if (!sock.destroyed) sock.resume();
          if (stopping && session.idle) session.close();
        });
      } else if (stopping && session.idle) session.close();
    });
    sock.on("error", () => {}); // a reset by the MTA ends the session like a close
    sock.on("close", () => {
      session.close();
      sessions.delete(sock);
    });
  };

  return {
    get address() {
      return bound;
    },
    get connections() {
      return sessions.size;
    },

    async start() {
      if (server) throw new Error("milter server already started");
      stopping = false;
      if (listen.kind === "tcp") await prepareQuickAck();
      const srv = net.createServer(onConnection);
      if (listen.kind === "unix") removeStaleSocket(listen.path, await socketIsLive(listen.path));
      await new Promise<void>((resolve, reject) => {
        const fail = (err: NodeJS.ErrnoException) =>
          reject(new Error(`milter: cannot listen on ${formatListen(listen)}: ${err.code ?? err.message}`));
        srv.once("error", fail);
        if (listen.kind === "unix") {
          const old = process.umask(0o177);
          try {
            srv.listen(listen.path, () => resolve());
          } finally {
            process.umask(old);
          }
        } else {
          srv.listen(listen.port, listen.host, () => resolve());
        }
      }).catch((err) => {
        srv.close();
        throw err;
      });
      if (listen.kind === "unix") {
        chmodSync(listen.path, opts.socketMode ?? 0o660);
        bound = listen;
      } else {
        const a = srv.address() as net.AddressInfo;
        bound = { kind: "tcp", host: listen.host, port: a.port };
      }
      server = srv;
    },

    async stop({ deadlineMs = DEFAULT_STOP_DEADLINE_MS } = {}) {
      const srv = server;
      if (!srv) return;
      stopping = true;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      const all = [...sessions.values()];
      for (const s of all) if (s.idle) s.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
      await Promise.race([Promise.all(all.map((s) => s.whenIdle().then(() => s.close()))), deadline]);
      clearTimeout(timer);
      // Whatever is still in a message gets no goodbye: the MTA treats it as a milter failure
      // (default action). Closed ones get a moment to flush their last reply.
      for (const [sock, s] of sessions) if (!s.closed) sock.destroy();
      await Promise.race([closed, Bun.sleep(1_000)]);
      for (const sock of sessions.keys()) sock.destroy();
      await closed;
      if (listen.kind === "unix") removeStaleSocket(listen.path, false);
      server = null;
      bound = null;
    },
  };
}

/** Is something accepting connections on this unix socket path? */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    // Listeners first, then connect: in a Bun worker (the milter's thread) a failed connect to a
    // unix path emits its error before net.connect() returns, and an error with no listener yet
    // ends the thread.
    const c = new net.Socket();
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
    c.connect(path);
  });
}

function removeStaleSocket(path: string, live: boolean): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new Error(`milter: ${path} exists and is not a socket; not removing it`);
  if (live) throw new Error(`milter: ${path} is in use by another process`);
  unlinkSync(path);
}
