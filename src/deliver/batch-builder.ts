import type { BatchLimits } from "./subscription.ts";

/**
 * Collects stored event bodies into one batch until the event or byte limit says stop
 * (replay's batches; the live batcher finds its cut points without reading bodies).
 */
export class BatchBuilder {
  bodies: string[] = [];
  bytes = 2; // "[" and "]"
  firstSeq = 0;
  lastSeq = 0;

  constructor(private readonly limits: Pick<BatchLimits, "maxEvents" | "maxBytes">) {}

  get size() {
    return this.bodies.length;
  }

  /** Whether adding this body would push a non-empty batch over the byte limit. */
  overflows(body: string): boolean {
    return this.bodies.length > 0 && this.bytes + Buffer.byteLength(body) + 1 > this.limits.maxBytes;
  }

  add(seq: number, body: string) {
    if (this.bodies.length === 0) this.firstSeq = seq;
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
