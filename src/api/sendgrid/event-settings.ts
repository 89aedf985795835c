import { SENDGRID_EVENTS } from "../../deliver/formats/sendgrid.ts";
import { EVENT_TYPES, type EventType } from "../../events/schema.ts";
import { SENDGRID_UNMAPPED_SETTINGS, type SendGridSettings } from "../../webhooks/model.ts";

// SendGrid's per-type booleans (`delivered`, `bounce`, …) ⇄ hookd's `events`. One source:
// the sendgrid format's own table (SENDGRID_EVENTS: hookd type → SendGrid `event`), read
// backwards. A setting is named like the event SendGrid posts, but for one: the body says
// "spamreport", the setting "spam_report". A setting subscribes to every hookd type that
// SendGrid would post under its event (bounce: hookd's bounce and expired).

type SendGridEvent = NonNullable<(typeof SENDGRID_EVENTS)[EventType]>;
type SettingOf<E extends SendGridEvent> = E extends "spamreport" ? "spam_report" : E;
/** The settings that stand for hookd event types. */
export type EventSetting = SettingOf<SendGridEvent>;
/** The settings with no hookd event type: stored, read back, subscribe to nothing. */
export type UnmappedSetting = keyof SendGridSettings;

const settingOf = (e: SendGridEvent) => (e === "spamreport" ? "spam_report" : e) as EventSetting;

/** Setting → the hookd types it subscribes to. */
export const TYPES_OF_SETTING: Readonly<Record<EventSetting, readonly EventType[]>> = (() => {
  const out: Partial<Record<EventSetting, EventType[]>> = {};
  for (const type of EVENT_TYPES) {
    const event = SENDGRID_EVENTS[type];
    if (event === null) continue;
    const setting = settingOf(event);
    out[setting] = [...(out[setting] ?? []), type];
  }
  return out as Record<EventSetting, EventType[]>;
})();

export const EVENT_SETTINGS = Object.keys(TYPES_OF_SETTING) as EventSetting[];
export const UNMAPPED_SETTINGS: readonly UnmappedSetting[] = SENDGRID_UNMAPPED_SETTINGS;

/** Every hookd type a sendgrid-format webhook can carry: what `events: ["*"]` means there. */
const CARRIED: readonly EventType[] = EVENT_SETTINGS.flatMap((s) => TYPES_OF_SETTING[s]);

/** How a webhook's `events` read as SendGrid settings: true when it gets any type of the setting. */
export function settingsOfEvents(events: readonly string[]): Record<EventSetting, boolean> {
  const all = events.includes("*");
  const has = new Set(events);
  return Object.fromEntries(EVENT_SETTINGS.map((s) => [s, all || TYPES_OF_SETTING[s].some((t) => has.has(t))])) as Record<
    EventSetting,
    boolean
  >;
}

/**
 * `events` after SendGrid settings are applied to `current` (null: a new webhook). A setting
 * turned off drops its types; one turned on adds them, unless the webhook already gets some
 * of them (then it is on already, and a read-modify-write keeps hookd's finer choice, such
 * as bounce without expired). `*` stays while nothing is turned off.
 */
export function eventsWithSettings(current: readonly string[] | null, settings: Partial<Record<EventSetting, boolean>>): string[] {
  const all = current?.includes("*") ?? false;
  const events = new Set<string>(all ? CARRIED : (current ?? []));
  let turnedOff = false;
  for (const s of EVENT_SETTINGS) {
    const on = settings[s];
    if (on === undefined) continue;
    const types = TYPES_OF_SETTING[s];
    if (!on) {
      turnedOff ||= types.some((t) => events.has(t));
      for (const t of types) events.delete(t);
    } else if (!types.some((t) => events.has(t))) {
      for (const t of types) events.add(t);
    }
  }
  if (all && !turnedOff) return ["*"];
  // In hookd's own order, so equal subscriptions look equal.
  return [...EVENT_TYPES.filter((t) => events.has(t)), ...[...events].filter((t) => !(EVENT_TYPES as readonly string[]).includes(t))];
}
