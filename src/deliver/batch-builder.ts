import type { BatchLimits } from "./batcher.ts";

/**
 * Collects stored event bodies into one batch until the event or byte limit says stop. The
 * batcher and replay both fill batches this way; they differ only in where rows come from.
 */
export class BatchBuilder {
  bodies: string[] = [];
  bytes = 2; // "[" and "]"
  firstSeq = 0;
  lastSeq = 0;
  oldestAt = 0;

  constructor(private readonly limits: Pick<BatchLimits, "maxEvents" | "maxBytes">) {}

  get size() {
    return this.bodies.length;
  }

  /** Whether adding this body would push a non-empty batch over the byte limit. */
  overflows(body: string): boolean {
    return this.bodies.length > 0 && this.bytes + Buffer.byteLength(body) + 1 > this.limits.maxBytes;
  }

  add(seq: number, body: string, receivedAt = 0) {
    if (this.bodies.length === 0) {
      this.firstSeq = seq;
      this.oldestAt = receivedAt;
    }
    this.bodies.push(body);
    this.bytes += Buffer.byteLength(body) + 1;
    this.lastSeq = seq;
  }

  get full() {
    return this.bodies.length >= this.limits.maxEvents;
  }

  /** Hands the collected batch over and starts empty. */
  take() {
    const b = { bodies: this.bodies, firstSeq: this.firstSeq, lastSeq: this.lastSeq };
    this.bodies = [];
    this.bytes = 2;
    return b;
  }
}
