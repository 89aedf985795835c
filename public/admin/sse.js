// @ts-check
// The live tail: GET /events/stream read with fetch(), because
// EventSource cannot send the Authorization header.
/** @import { MailEvent } from "./types" */

/**
 * @typedef {object} TailHandlers
 * @property {() => void} onOpen connected, or connected again
 * @property {(event: MailEvent) => void} onEvent
 * @property {(reason: string, seconds: number) => void} onRetry could not connect; tries again in `seconds`
 */

/**
 * Follow the stream until `signal` aborts, reconnecting with capped backoff and resuming
 * from Last-Event-ID, so no event is shown twice or missed.
 * @param {string} url
 * @param {AbortSignal} signal
 * @param {TailHandlers & { key: () => string | null, onUnauthorized: () => void }} opts
 */
export async function readEvents(url, signal, { key, onOpen, onEvent, onRetry, onUnauthorized }) {
  /** @type {string | null} */
  let lastId = null;
  let delay = 1;
  let openedAt = 0;
  while (!signal.aborted) {
    try {
      /** @type {Record<string, string>} */
      const headers = { Authorization: `Bearer ${key()}`, Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const res = await fetch(url, { headers, signal, cache: "no-store" });
      if (res.status === 401) return onUnauthorized();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onOpen();
      openedAt = Date.now();
      delay = 1;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const msg = parseSse(buf.slice(0, end));
          buf = buf.slice(end + 2);
          if (msg.id) lastId = msg.id;
          if (msg.event === "event") onEvent(JSON.parse(msg.data));
        }
      }
      throw new Error("stream ended");
    } catch (err) {
      if (signal.aborted) return;
      // A stream that ran for a while and was closed (an idle timeout, a restart) resumes
      // at once and quietly from Last-Event-ID; only failing to reconnect is worth saying.
      const ranForAWhile = openedAt && Date.now() - openedAt > 2000;
      openedAt = 0;
      if (ranForAWhile) continue;
      onRetry(err instanceof Error ? err.message : String(err), delay);
      await new Promise((r) => setTimeout(r, delay * 1000));
      delay = Math.min(delay * 2, 30);
    }
  }
}

/**
 * One server-sent event from the lines between two blank lines.
 * @param {string} block
 * @returns {{ event: string, data: string, id: string | null }}
 */
export function parseSse(block) {
  const msg = { event: "message", data: "", id: /** @type {string | null} */ (null) };
  /** @type {string[]} */
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const name = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (name === "event") msg.event = value;
    else if (name === "data") data.push(value);
    else if (name === "id") msg.id = value;
  }
  msg.data = data.join("\n");
  return msg;
}
