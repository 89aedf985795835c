import { formatCarries } from "../deliver/formats/index.ts";
import { sampleEvent, sampleFor } from "../events/samples.ts";
import { isEventType, type Event } from "../events/schema.ts";
import type { WebhookRow } from "../store/driver.ts";

// The sample events of a test send (the test POST at create, validate): events the webhook
// subscribes to and its format sends, so a receiver that handles only opens is not tested
// with a delivery, and a provider format's body is never an empty array.

type Subscriber = Pick<WebhookRow, "events" | "format">;

/** Whether an `events` entry (a hookd type, "custom", or a custom event's name) reaches the webhook in its format. */
function carried(format: Subscriber["format"], entry: string): boolean {
  if (isEventType(entry)) return formatCarries(format, entry, entry === "custom" ? undefined : null);
  return formatCarries(format, "custom", entry);
}

/**
 * Samples of the first `max` subscribed entries the format carries ("*": a delivery; a
 * custom event's name: a custom event of that name). A webhook whose entries its format
 * sends none of (it then receives nothing) gets a sample of its first entry all the same.
 */
export function testSamples(w: Subscriber, opts: { host: string; now: number }, max = 1): Event[] {
  if (w.events.includes("*")) return [sampleEvent("delivery", opts)];
  const entries = w.events.filter((e) => carried(w.format, e));
  const chosen = (entries.length ? entries : w.events.slice(0, 1)).slice(0, max);
  return chosen.map((e, index) => sampleFor(e, { ...opts, index }));
}
