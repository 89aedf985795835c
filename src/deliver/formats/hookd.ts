// hookd's own body format: a JSON array of the events exactly as stored. The store keeps
// each event's JSON text, so a batch is built by joining strings and encoding once; the
// delivery path never parses or re-serializes an event.

const encoder = new TextEncoder();

/** `serialized` must each be one JSON value; the result is the JSON array of them. */
export function encodeBatch(serialized: readonly string[]): Uint8Array<ArrayBuffer> {
  return encoder.encode(`[${serialized.join(",")}]`);
}
