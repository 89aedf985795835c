// One MTA connection: option negotiation, then message after message — envelope, macros,
// headers and body collected, and at end of message the injected handler asked for edits,
// which go back as actions before the final reply.
//
// Never break mail: a handler that throws, times out or returns edits that cannot be
// carried out, and a message over the size limit, are accepted unchanged and reported
// through onError. A protocol error closes the connection (the MTA then applies its
// milter_default_action, which the docs say must be accept). Memory is bounded: one packet
// (negotiated size, plus room for a header) and one message (maxMessageBytes).
import { CommandDecoder, type MtaCommand } from "./commands.ts";
import { editPackets, type MilterEdits } from "./edits.ts";
import { MessageCollector, MessageTooLargeError, type MilterMessage } from "./message.ts";
import { WANTED_MACROS, negotiate, type Negotiated } from "./negotiate.ts";
import { Cmd, DataSize, MilterProtocolError, packetLimit, type CmdCode } from "./protocol.ts";
import { acceptPacket, continuePacket, optnegReply, type MacroLists } from "./replies.ts";

/** Decides a message's edits; null leaves it unchanged. `signal` aborts on timeout. */
export type MilterHandler = (message: MilterMessage, signal: AbortSignal) => Promise<MilterEdits | null> | MilterEdits | null;

/** Reports what hookd could not do for a message (queue id when known) or a connection. */
export type MilterErrorReporter = (queueId: string | null, err: Error) => void;

export type SessionOptions = {
  handler: MilterHandler;
  onError?: MilterErrorReporter;
  /** Envelope + headers + body held per message; larger messages pass unchanged. */
  maxMessageBytes?: number;
  /** Longest wait for the handler; then the message passes unchanged. */
  handlerTimeoutMs?: number;
  /** Macro lists asked for in negotiation (SMFIF_SETSYMLIST). */
  macros?: MacroLists;
};

/** The connection as the session sees it. */
export type SessionIO = {
  write(data: Uint8Array): void;
  /** Flush what was written, then close. */
  end(): void;
};

export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;

export class HandlerTimeoutError extends Error {
  override name = "HandlerTimeoutError";
  constructor(readonly ms: number) {
    super(`message handler gave no answer within ${ms}ms: accepted unchanged`);
  }
}

/** Stages whose macros belong to one message, latest first (where the queue id is looked up). */
const MESSAGE_STAGES: string[] = [Cmd.BODYEOB, Cmd.BODY, Cmd.EOH, Cmd.HEADER, Cmd.DATA, Cmd.RCPT, Cmd.MAIL];
const CONNECTION_STAGES: string[] = [Cmd.CONNECT, Cmd.HELO, Cmd.UNKNOWN];

type Queued = MtaCommand | { code: "error"; error: MilterProtocolError };

export class MilterSession {
  private readonly decoder = new CommandDecoder(packetLimit(DataSize.DEFAULT));
  private readonly maxMessageBytes: number;
  private readonly timeoutMs: number;
  private negotiated: Negotiated | null = null;
  private readonly macros = new Map<string, [string, string][]>();
  private message: MessageCollector | null = null;
  private readonly queue: Queued[] = [];
  private draining: Promise<void> = Promise.resolve();
  private running = false;
  private handling = false;
  private ended = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly io: SessionIO,
    private readonly opts: SessionOptions,
  ) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.timeoutMs = opts.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  }

  /** Bytes from the MTA. Resolves once everything received so far is handled; never rejects. */
  push(chunk: Uint8Array): Promise<void> {
    if (this.ended) return Promise.resolve();
    const { commands, error } = this.decoder.push(chunk);
    for (const c of commands) this.queue.push(c);
    if (error) this.queue.push({ code: "error", error });
    if (!this.running) this.draining = this.drain();
    return this.draining;
  }

  /** Waiting for the handler: the caller should stop reading until push() resolves. */
  get busy(): boolean {
    return this.handling;
  }

  /** Between messages (nothing collected, no handler running). */
  get idle(): boolean {
    return !this.handling && this.message === null && this.queue.length === 0;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Resolves when the session is idle or closed. */
  whenIdle(): Promise<void> {
    if (this.ended || this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Close now (the server stopping, the peer gone). A message in progress is abandoned: the MTA
   *  applies its default action to it. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.message = null;
    this.io.end();
    this.wakeIdle();
  }

  private async drain(): Promise<void> {
    // `running` is cleared synchronously on the way out, so a push() right after a drain that
    // never awaited starts a new one instead of queueing behind a finished loop.
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.ended) {
        const c = this.queue.shift()!;
        if (c.code === "error") {
          this.report(this.queueId(), c.error);
          this.close();
          return;
        }
        if (c.code === Cmd.BODYEOB) await this.endOfMessage(c.chunk);
        else this.handle(c);
      }
    } finally {
      this.running = false;
    }
    this.wakeIdle();
  }

  private handle(c: Exclude<MtaCommand, { code: "E" }>): void {
    if (c.code === Cmd.OPTNEG) {
      this.optneg(c);
      return;
    }
    if (!this.negotiated) {
      this.report(null, new MilterProtocolError(`command '${c.code}' before option negotiation`));
      this.close();
      return;
    }
    switch (c.code) {
      case Cmd.MACRO:
        this.macros.set(c.stage, c.macros);
        return;
      case Cmd.MAIL:
        this.resetMessage(Cmd.MAIL); // its macros came just before it
        this.collector().mail(c.args);
        break;
      case Cmd.RCPT:
        this.collector().rcpt(c.args);
        break;
      case Cmd.HEADER:
        this.collector().header(c.name, c.value);
        break;
      case Cmd.BODY:
        this.collector().bodyChunk(c.chunk);
        break;
      case Cmd.ABORT:
        this.resetMessage();
        return;
      case Cmd.QUIT:
        this.close();
        return;
      case Cmd.QUIT_NC:
        // The MTA reuses this connection for its next SMTP client: same options, nothing else.
        this.resetMessage();
        for (const s of CONNECTION_STAGES) this.macros.delete(s);
        return;
    }
    this.reply(c.code);
  }

  private optneg(c: Extract<MtaCommand, { code: "O" }>): void {
    if (this.message) {
      this.report(this.queueId(), new MilterProtocolError("option negotiation in the middle of a message"));
      this.close();
      return;
    }
    try {
      this.negotiated = negotiate(c, this.opts.macros ?? WANTED_MACROS);
    } catch (err) {
      this.report(null, err as Error);
      this.close();
      return;
    }
    this.decoder.setLimit(packetLimit(this.negotiated.dataSize));
    this.io.write(optnegReply(this.negotiated));
  }

  /** CONTINUE, unless the negotiation said this command gets no reply. */
  private reply(code: CmdCode): void {
    if (!this.negotiated!.noReply.has(code)) this.io.write(continuePacket());
  }

  private async endOfMessage(lastChunk: Buffer): Promise<void> {
    if (!this.negotiated) {
      this.report(null, new MilterProtocolError("end of message before option negotiation"));
      this.close();
      return;
    }
    const m = this.collector();
    m.bodyChunk(lastChunk);
    const queueId = this.queueId();
    let packets: Buffer[] = [];
    if (m.overLimit) {
      this.report(queueId, new MessageTooLargeError(this.maxMessageBytes));
    } else {
      const edits = await this.ask(m.build(queueId, this.allMacros(), this.negotiated.leadingSpace));
      if (this.ended) return;
      if (edits) {
        try {
          packets = editPackets(edits, this.negotiated);
        } catch (err) {
          this.report(queueId, err as Error);
        }
      }
    }
    packets.push(packets.length > 0 ? continuePacket() : acceptPacket());
    this.io.write(packets.length === 1 ? packets[0]! : Buffer.concat(packets));
    this.resetMessage();
  }

  /** The handler's answer, or null after an error or the timeout (both reported). */
  private async ask(message: MilterMessage): Promise<MilterEdits | null> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new HandlerTimeoutError(this.timeoutMs);
        abort.abort(err);
        reject(err);
      }, this.timeoutMs);
    });
    this.handling = true;
    try {
      return await Promise.race([Promise.resolve().then(() => this.opts.handler(message, abort.signal)), timeout]);
    } catch (err) {
      this.report(message.queueId, err instanceof Error ? err : new Error(String(err)));
      return null;
    } finally {
      clearTimeout(timer);
      this.handling = false;
    }
  }

  private collector(): MessageCollector {
    this.message ??= new MessageCollector(this.maxMessageBytes);
    return this.message;
  }

  private resetMessage(keep?: string): void {
    this.message = null;
    for (const s of MESSAGE_STAGES) if (s !== keep) this.macros.delete(s);
  }

  /** Latest value of `i` in this message (Postfix: from DATA on; earlier for local mail). */
  private queueId(): string | null {
    for (const stage of MESSAGE_STAGES) {
      for (const [name, value] of this.macros.get(stage) ?? []) if ((name === "i" || name === "{i}") && value) return value;
    }
    return null;
  }

  private allMacros(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const stage of [...CONNECTION_STAGES, ...MESSAGE_STAGES.toReversed()]) {
      for (const [name, value] of this.macros.get(stage) ?? []) out[name] = value;
    }
    return out;
  }

  private report(queueId: string | null, err: Error): void {
    try {
      this.opts.onError?.(queueId, err);
    } catch {
      // a failing reporter must not take the connection down with it
    }
  }

  private wakeIdle(): void {
    if (!this.ended && !this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
