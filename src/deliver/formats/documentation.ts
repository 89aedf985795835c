// GET /webhooks/events/documentation?format=…: the event catalog in the shape of SparkPost's
// own documentation endpoint ({class: {display_name, description, events: {name: {display_name,
// description, event: {field: {description, sampleValue}}}}}}), with each provider's class,
// event and field names. The sample values are what the format's mapper makes of sample
// events, so the documentation cannot drift from what is sent.
import type { z } from "zod";
import { eventCatalog } from "../../events/catalog.ts";
import { EVENT_SCHEMAS, EVENT_TYPES, type Event, type EventType } from "../../events/schema.ts";
import { exampleOf, sampleEvent } from "../../events/samples.ts";
import type { WebhookFormat } from "../../webhooks/model.ts";
import { toCopernica } from "./copernica.ts";
import * as docs from "./field-docs.ts";
import { formatCarries } from "./index.ts";
import { toSendGrid } from "./sendgrid.ts";
import { toSfmc } from "./sfmc.ts";
import { toSparkPost } from "./sparkpost.ts";

export type FieldDoc = { description: string; sampleValue: unknown };
export type EventDoc = { display_name: string; description: string; event: Record<string, FieldDoc> };
export type ClassDoc = { display_name: string; description: string; events: Record<string, EventDoc> };
export type Catalog = Record<string, ClassDoc>;

/** One documented event as the provider sends it: its class, its name, its fields. */
type Documented = { cls: string; name: string; fields: Record<string, unknown> };

const DOC_NOW = Date.UTC(2026, 10, 23, 13, 7, 9);

/** A sample of the type with every field its schema allows, so the documentation shows them all. */
export function fullSample(type: EventType, extra: Record<string, unknown> = {}): Event {
  const e = sampleEvent(type, { host: "mx1", now: DOC_NOW }) as Record<string, unknown>;
  for (const [name, field] of Object.entries((EVENT_SCHEMAS[type] as unknown as z.ZodObject).shape as Record<string, z.ZodType>)) {
    // A notice is mail about other mail, which no provider format sends: not a sample's field.
    if (e[name] !== undefined || name === "notice") continue;
    const v = exampleOf(field);
    if (v !== undefined) e[name] = v;
  }
  return { ...e, ...extra } as Event;
}

/** The samples a format's documentation is made from: one per carried type, and its variants. */
function samplesFor(format: WebhookFormat): Event[] {
  const out: Event[] = [];
  for (const type of EVENT_TYPES) {
    if (type === "custom") {
      if (format === "copernica")
        for (const name of ["profile.created", "profile.updated", "profile.deleted"]) out.push(fullSample("custom", { custom_type: name }));
      continue;
    }
    if (!formatCarries(format, type)) continue;
    // SparkPost names the first open of a message an initial_open.
    if (type === "open")
      out.push(fullSample("open", { first: false }), ...(format === "sparkpost" ? [fullSample("open", { first: true })] : []));
    else out.push(fullSample(type));
  }
  return out;
}

// ENS nests the message's ids in `composite` and the details in `info`; SFMC's own pages
// document them as composite.jobId, info.to, ….
function flattenSfmc(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if ((k === "composite" || k === "info") && v !== null && typeof v === "object")
      for (const [ik, iv] of Object.entries(v)) out[`${k}.${ik}`] = iv;
    else out[k] = v;
  }
  return out;
}

// Copernica's form keys grouped back under their names: tags[]=a&tags[]=b is tags ["a", "b"].
function groupForm(form: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of form) {
    const open = key.indexOf("[");
    if (open === -1) {
      out[key] = value;
      continue;
    }
    const base = key.slice(0, open);
    const inner = key.slice(open + 1, key.indexOf("]", open));
    if (inner === "") ((out[base] ??= []) as unknown[]).push(value);
    else ((out[base] ??= {}) as Record<string, unknown>)[inner] = value;
  }
  return out;
}

function documented(format: Exclude<WebhookFormat, "hookd">, e: Event): Documented | null {
  if (format === "sparkpost") {
    const m = toSparkPost(e);
    const [cls, inner] = Object.entries(m?.msys ?? {})[0] ?? [];
    return cls && inner ? { cls, name: String(inner.type), fields: inner } : null;
  }
  if (format === "sendgrid") {
    const m = toSendGrid(e);
    return m ? { cls: docs.SENDGRID_EVENT_DOCS[String(m.event)]!.class, name: String(m.event), fields: m } : null;
  }
  if (format === "sfmc") {
    const m = toSfmc(e);
    if (!m) return null;
    const [cls, name] = String(m.eventCategoryType).split(".") as [string, string];
    return { cls, name, fields: flattenSfmc(m) };
  }
  const form = toCopernica(e);
  return form ? { cls: "webhooks", name: form.get("type")!, fields: groupForm(form) } : null;
}

const TABLES = {
  sparkpost: { classes: docs.SPARKPOST_CLASS_DOCS, events: docs.SPARKPOST_EVENT_DOCS, fields: docs.SPARKPOST_FIELD_DOCS, other: undefined },
  sendgrid: {
    classes: docs.SENDGRID_CLASS_DOCS,
    events: docs.SENDGRID_EVENT_DOCS,
    fields: docs.SENDGRID_FIELD_DOCS,
    other: docs.SENDGRID_CUSTOM_ARG_DOC,
  },
  sfmc: { classes: docs.SFMC_CLASS_DOCS, events: docs.SFMC_EVENT_DOCS, fields: docs.SFMC_FIELD_DOCS, other: undefined },
  copernica: {
    classes: docs.COPERNICA_CLASS_DOCS,
    events: docs.COPERNICA_EVENT_DOCS,
    fields: docs.COPERNICA_FIELD_DOCS,
    other: docs.COPERNICA_DATA_DOC,
  },
} as const;

/**
 * The catalog in a format's names. `hookd`: every hookd type (custom events listing the
 * known names); a provider format: only what it sends, under the provider's names.
 */
export function formatCatalog(format: WebhookFormat, customTypes: readonly string[] = []): Catalog {
  if (format === "hookd") return eventCatalog(customTypes) as Catalog;
  const t = TABLES[format];
  const catalog: Catalog = {};
  for (const e of samplesFor(format)) {
    const d = documented(format, e);
    if (!d) continue;
    const cls = (catalog[d.cls] ??= { ...t.classes[d.cls]!, events: {} });
    const named = t.events[d.name]!;
    const doc = (cls.events[d.name] ??= { display_name: named.display_name, description: named.description, event: {} });
    for (const [field, value] of Object.entries(d.fields)) {
      // Several hookd types share a provider event (bounce, expired → bounce): first sample wins.
      if (doc.event[field]) continue;
      doc.event[field] = { description: (t.fields as Record<string, string>)[field] ?? t.other ?? "", sampleValue: value };
    }
  }
  return catalog;
}
