import type { ClaimedBatch, Store } from "../store/driver.ts";

// Webhooks of one group send the same body: read it from the store once, and send it as
// one Blob that every request shares (bytes are still what each webhook's HMAC signs).

export type Body = { bytes: Uint8Array<ArrayBuffer>; blob: Blob };

export type BodyCache = {
  /** The batch's body, from the cache when its group's body was read already. */
  get(b: ClaimedBatch): Promise<Body>;
  /** Drops every body; the engine calls it when no attempt is in flight. */
  clear(): void;
  readonly size: number;
};

/** Keeps shared bodies (not a batch's own) until they pass `maxBytes`, oldest out first. */
export function createBodyCache(store: Store, maxBytes: number): BodyCache {
  const bodies = new Map<number, Body>();
  let cachedBytes = 0;
  const toBody = (read: Uint8Array): Body => {
    // The store's buffer as it is (a copy only in case it were shared memory, which fetch refuses).
    const bytes = read.buffer instanceof ArrayBuffer ? (read as Uint8Array<ArrayBuffer>) : new Uint8Array(read);
    return { bytes, blob: new Blob([bytes]) };
  };
  // Reads under way: the attempts of a group start together, and all wait for one read.
  const reading = new Map<number, Promise<Body>>();
  const read = async (b: ClaimedBatch & { body_id: number }): Promise<Body> => {
    const body = toBody(await store.delivery.body(b));
    bodies.set(b.body_id, body);
    cachedBytes += body.bytes.byteLength + body.blob.size;
    for (const [id, old] of bodies) {
      if (cachedBytes <= maxBytes || id === b.body_id) break;
      bodies.delete(id);
      cachedBytes -= old.bytes.byteLength + old.blob.size;
    }
    return body;
  };
  return {
    async get(b) {
      if (b.body_id === null) return toBody(await store.delivery.body(b));
      const id = b.body_id;
      const cached = bodies.get(id);
      if (cached) return cached;
      let p = reading.get(id);
      if (!p) {
        p = read({ ...b, body_id: id }).finally(() => reading.delete(id));
        reading.set(id, p);
      }
      return p;
    },
    clear() {
      bodies.clear();
      cachedBytes = 0;
    },
    get size() {
      return bodies.size;
    },
  };
}
