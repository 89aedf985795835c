import { MilterEditsSchema, type MilterEdits } from "../milter/edits.ts";
import type { MilterMessage } from "../milter/message.ts";
import type { MilterErrorReporter, MilterHandler } from "../milter/session.ts";
import type { TrackMode } from "../mail/control.ts";
import type { Keyring } from "./keyring.ts";
import { trackMail, type MailEdits, type MailOutcome } from "./mail-tracker.ts";
import type { TrackSettings } from "./message.ts";

// The milter's message handler: one message as Postfix shows it → the edits that track it
// (mail-tracker.ts), and one outcome per message for the log and /metrics. What the session
// itself gives up on (a message over max_message_size, the timeout, an error thrown here, a
// broken connection) reaches `outcomeOfError`, so every message is counted exactly once:
// the handler does not count a message whose answer came too late.

export type MilterTrackConfig = {
  mode: TrackMode;
  settings: TrackSettings;
  host: string;
  verpDomain: string;
  maxBytes: number;
  timeoutMs: number;
};

export type MessageOutcome = {
  queueId: string | null;
  outcome: MailOutcome["outcome"];
  reason: string;
  detail?: string;
  /** Time spent on the message, handler only. */
  seconds?: number;
};

export type MilterHandlerDeps = {
  keyring(): Keyring | Promise<Keyring>;
  storeRow(data: string): number | Promise<number>;
  now?: () => number;
  onOutcome(o: MessageOutcome): void;
};

export function milterHandler(c: MilterTrackConfig, deps: MilterHandlerDeps): MilterHandler {
  const now = deps.now ?? Date.now;
  return async (m: MilterMessage, signal: AbortSignal): Promise<MilterEdits | null> => {
    const t0 = performance.now();
    const r = await trackMail(
      { header: m.header, body: m.body, queueId: m.queueId, mailFrom: m.mailFrom, rcptTo: m.rcptTo },
      {
        mode: c.mode,
        settings: c.settings,
        host: c.host,
        verpDomain: c.verpDomain,
        keyring: await deps.keyring(),
        storeRow: deps.storeRow,
        now: now(),
        limits: { maxBytes: c.maxBytes, timeoutMs: c.timeoutMs, signal },
      },
    );
    if (signal.aborted) return null; // the session has accepted it unchanged and reported why
    const seconds = (performance.now() - t0) / 1000;
    const edits = r.outcome === "unchanged" || !r.edits ? null : milterEdits(r.edits);
    // Checked here, so that edits the session would refuse are counted once, as what they are.
    const bad = edits ? MilterEditsSchema.safeParse(edits).error : undefined;
    if (bad) {
      deps.onOutcome({
        queueId: m.queueId,
        outcome: "unchanged",
        reason: "internal_error",
        detail: `invalid edits: ${bad.issues[0]?.message}`,
        seconds,
      });
      return null;
    }
    deps.onOutcome({
      queueId: m.queueId,
      outcome: r.outcome,
      reason: r.reason,
      ...("detail" in r && r.detail ? { detail: r.detail } : {}),
      seconds,
    });
    return edits;
  };
}

function milterEdits(e: MailEdits): MilterEdits {
  return {
    headers: e.headers,
    ...(e.body ? { body: e.body as Uint8Array<ArrayBuffer> } : {}),
    ...(e.mailFrom ? { mailFrom: e.mailFrom } : {}),
  };
}

/** The outcome of a message the session gave up on (or a connection it closed). */
export function outcomeOfError(queueId: string | null, err: Error): MessageOutcome {
  const reason =
    err.name === "MessageTooLargeError"
      ? "too_large"
      : err.name === "HandlerTimeoutError"
        ? "timeout"
        : err.name === "MilterProtocolError"
          ? "protocol_error"
          : err.name === "MilterEditsError"
            ? "edits_refused"
            : "internal_error";
  return { queueId, outcome: "unchanged", reason, detail: err.message };
}

/** Reports the session's errors as outcomes. */
export function errorReporter(onOutcome: (o: MessageOutcome) => void): MilterErrorReporter {
  return (queueId, err) => onOutcome(outcomeOfError(queueId, err));
}
