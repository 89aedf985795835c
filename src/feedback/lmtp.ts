import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { type FeedbackDeps, type Outcome, TemporaryFailure, processMessage } from "./process.ts";
import type { Envelope } from "./types.ts";

// The LMTP listener ([feedback] listen): Postfix routes the bounce and complaint domains to
// lmtp:inet:127.0.0.1:8024, Exim to an lmtp transport. LMTP answers once per recipient after
// DATA, and each answer is final: 250 only once the message's events are committed; 451 4.3.0
// when the store or a lookup refused (the MTA keeps the message and retries); 552 over the size
// limit. A message that is no report is accepted and counted — refusing it would make the MTA
// bounce a bounce.

export interface LmtpOptions extends FeedbackDeps {
  /** Address to listen on; tests use 127.0.0.1 and port 0. Ignored when listenPath is set. */
  listenHost: string;
  listenPort: number;
  /** A unix socket to listen on instead (Postfix lmtp:unix:…, Exim's lmtp transport). */
  listenPath?: string;
  /** Largest message accepted (bytes); larger ones are answered 552. */
  maxBytes: number;
  /** Name in the greeting and LHLO reply. */
  name?: string;
  /** How long stop() lets idle clients linger before closing them with 421 (ms). */
  closeTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

export class LmtpIntake {
  private server: SMTPServer | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly opts: LmtpOptions) {}

  /**
   * Starts listening; resolves with the bound address (the real port when 0 was asked), or
   * for a unix socket its path (host "" and port 0).
   */
  async start(): Promise<{ host: string; port: number; path?: string }> {
    if (this.server) throw new Error("LMTP intake already started");
    const server = new SMTPServer({
      lmtp: true,
      name: this.opts.name ?? "hookd",
      banner: "hookd feedback",
      size: this.opts.maxBytes || DEFAULT_MAX_BYTES,
      rejectOversized: true,
      // A report goes to one address (the VERP sender, the FBL or unsubscribe address).
      maxRecipients: 100,
      authOptional: true,
      disabledCommands: ["AUTH", "STARTTLS"],
      // Enhanced status codes (451 4.3.0, 552 5.3.4) tell the MTA's log and DSNs what happened.
      hideENHANCEDSTATUSCODES: false,
      logger: false,
      closeTimeout: this.opts.closeTimeoutMs ?? 5000,
      onData: (stream, session, callback) => this.onData(stream, session, callback),
    });
    server.on("error", (err) => this.opts.onError?.(err));
    this.server = server;
    const path = this.opts.listenPath;
    if (path !== undefined) removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", reject);
      const listening = () => {
        server.server.off("error", reject);
        resolve();
      };
      if (path !== undefined) server.listen(path, listening);
      else server.listen(this.opts.listenPort, this.opts.listenHost, listening);
    });
    if (path !== undefined) {
      // The MTA's delivery agent runs as another user; who may connect is decided by the
      // socket's directory (e.g. /run/hookd, group postfix), as for Postfix's own sockets.
      chmodSync(path, 0o666);
      return { host: "", port: 0, path };
    }
    const addr = server.server.address() as AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  /** Stops accepting, lets messages being processed get their answer, then closes. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([...this.inFlight]);
    await closed;
    if (this.opts.listenPath !== undefined) removeStaleSocket(this.opts.listenPath);
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    const max = this.opts.maxBytes || DEFAULT_MAX_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      // Past the limit nothing is kept: the server answers 552 once the client has sent it all.
      if (size + chunk.length <= max) chunks.push(chunk);
      size += chunk.length;
    });
    stream.on("end", () => {
      if (stream.sizeExceeded || size > max) {
        this.opts.stats?.tooLarge();
        callback(null);
        return;
      }
      const envelope: Envelope = {
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
      };
      const work = this.handle(new Uint8Array(Buffer.concat(chunks, size)), envelope, callback);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
  }

  private async handle(raw: Uint8Array, envelope: Envelope, callback: (err?: Error | null, message?: string) => void): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await processMessage(raw, envelope, this.opts);
    } catch (err) {
      this.opts.onError?.(err);
      const reply = new Error(
        err instanceof TemporaryFailure ? `cannot store the report now, try again later (${err.stage})` : "local error, try again later",
      );
      (reply as Error & { responseCode: number }).responseCode = 451;
      callback(reply);
      return;
    }
    const n = outcome.events.length;
    callback(null, `${outcome.report.kind}: ${n} event${n === 1 ? "" : "s"}`);
  }
}

/** A socket left by a hookd that was killed would make listen() fail with EADDRINUSE; anything else at the path is not ours to remove. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
