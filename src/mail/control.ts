// What the sending application asked for, read from its control headers: hookd's own
// (X-Hookd-Track, -Campaign, -Tags, -Metadata) or the ones it already sends to SparkPost
// (X-MSYS-API) or SendGrid (X-SMTPAPI). Pure.
//
// Rules. Per aspect (opens, clicks, unsubscribe) the first source that says something wins,
// in the order X-Hookd-Track, X-MSYS-API, X-SMTPAPI; an aspect no header mentions takes the
// [tracking] default (the per-message word wins over the default, as with SparkPost). Campaign
// data likewise comes from the first source that has it. A control header that cannot be read
// (bad JSON, wrong types, over its size, given twice) is removed like the others, and the
// message is NOT tracked: the application asked for something, and guessing — SparkPost
// senders often write open_tracking:false — could track mail that asked not to be. With
// track = "off" hookd leaves the message alone, control headers included (a relay behind
// it may be the provider that reads them).
import { z } from "zod";
import { type HeaderField, fieldKey, unfold } from "./headers.ts";

/** Campaign metadata as events carry it: flat scalars (nested values become their JSON text). */
export type Metadata = Record<string, string | number | boolean | null>;

export const TRACK_MODES = ["all", "header", "off"] as const;
export const TrackModeSchema = z.enum(TRACK_MODES);
export type TrackMode = z.infer<typeof TrackModeSchema>;
export type TrackAspects = { opens: boolean; clicks: boolean; unsubscribe: boolean };

export type Control = {
  /** What to track in this message; null: leave it untracked. */
  track: TrackAspects | null;
  /** Whether a control header asked for tracking (X-Hookd-Track, or a provider's tracking option). */
  marked: boolean;
  campaign_id?: string;
  tags?: string[];
  metadata?: Metadata;
  /** The control headers present, as written: the milter deletes them all. */
  remove: string[];
  /** Why a control header was not used, one sentence each ("X-MSYS-API: …"). */
  problems: string[];
};

export const CONTROL_HEADERS = [
  "X-Hookd-Track",
  "X-Hookd-Campaign",
  "X-Hookd-Tags",
  "X-Hookd-Metadata",
  "X-MSYS-API",
  "X-SMTPAPI",
] as const;
/** Longest control header value read (unfolded); SendGrid allows 10,000 bytes of unique_args. */
export const MAX_CONTROL_BYTES = 32 * 1024;

type Partial3 = { opens?: boolean; clicks?: boolean; unsubscribe?: boolean };
type Source = { marked: boolean; aspects: Partial3; campaign_id?: string; tags?: string[]; metadata?: Metadata };

const CampaignId = z.string().trim().min(1).max(255);
const Tag = z.string().trim().min(1).max(255);
const JsonObject = z.record(z.string(), z.unknown());

const MsysSchema = z.looseObject({
  campaign_id: CampaignId.optional(),
  tags: z.array(Tag).max(50).optional(),
  metadata: JsonObject.optional(),
  options: z.looseObject({ open_tracking: z.boolean().optional(), click_tracking: z.boolean().optional() }).optional(),
});

// SendGrid documents 0|1; client libraries also send booleans and "0"/"1".
const Enable = z
  .union([z.literal(0), z.literal(1), z.literal("0"), z.literal("1"), z.boolean()])
  .transform((v) => v === 1 || v === "1" || v === true);
const Filter = z.looseObject({ settings: z.looseObject({ enable: Enable.optional() }).optional() }).optional();
const SmtpApiSchema = z.looseObject({
  category: z.union([Tag, z.array(Tag).max(50)]).optional(),
  unique_args: JsonObject.optional(),
  filters: z.looseObject({ opentrack: Filter, clicktrack: Filter, subscriptiontrack: Filter }).optional(),
});

const ASPECT_WORDS: Record<string, keyof TrackAspects> = {
  open: "opens",
  opens: "opens",
  click: "clicks",
  clicks: "clicks",
  unsubscribe: "unsubscribe",
  unsubscribes: "unsubscribe",
};

/** A control header that cannot be used; the message says which and why. */
class ControlProblem extends Error {}

function check<T>(header: string, schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new ControlProblem(`${header}: ${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`);
}

function parseJson<T>(header: string, text: string, schema: z.ZodType<T>): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ControlProblem(`${header}: invalid JSON (${(err as Error).message})`);
  }
  return check(header, schema, data);
}

const MetaKey = z.string().min(1).max(255);
const MetaValue = z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]);
const MetadataSchema = z.record(MetaKey, MetaValue).refine((m) => Object.keys(m).length <= 100, "at most 100 keys");

/** Application metadata → events' flat shape; nested objects and arrays become JSON text. */
function flattenMetadata(header: string, obj: Record<string, unknown>): Metadata {
  const flat = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v !== null && typeof v === "object" ? JSON.stringify(v) : v]));
  return check(header, MetadataSchema, flat);
}

const dedupeTags = (tags: readonly string[]): string[] => [...new Set(tags)];

/** X-Hookd-Track: "all", "none", "default", or a list of opens, clicks, unsubscribe. */
function hookdTrack(value: string, defaults: TrackAspects): Partial3 {
  const words = value
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean);
  if (words.length === 1 && words[0] === "all") return { opens: true, clicks: true, unsubscribe: true };
  if (words.length === 1 && words[0] === "none") return { opens: false, clicks: false, unsubscribe: false };
  if (words.length === 1 && words[0] === "default") return { ...defaults };
  if (words.length === 0)
    throw new ControlProblem("X-Hookd-Track: empty; expected all, none, default or a list of opens, clicks, unsubscribe");
  const out: Partial3 = { opens: false, clicks: false, unsubscribe: false };
  for (const w of words) {
    const aspect = ASPECT_WORDS[w];
    if (!aspect)
      throw new ControlProblem(
        `X-Hookd-Track: unknown word ${JSON.stringify(w)}; expected all, none, default or opens, clicks, unsubscribe`,
      );
    out[aspect] = true;
  }
  return out;
}

function hookdSource(get: (name: string) => string | undefined, defaults: TrackAspects): Source {
  const track = get("x-hookd-track");
  const src: Source = { marked: track !== undefined, aspects: track === undefined ? {} : hookdTrack(track, defaults) };
  const campaign = get("x-hookd-campaign");
  if (campaign !== undefined) src.campaign_id = check("X-Hookd-Campaign", CampaignId, campaign);
  const tags = get("x-hookd-tags");
  if (tags !== undefined) {
    const list = tags
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    src.tags = dedupeTags(check("X-Hookd-Tags", z.array(Tag).min(1).max(50), list));
  }
  const meta = get("x-hookd-metadata");
  if (meta !== undefined) src.metadata = flattenMetadata("X-Hookd-Metadata", parseJson("X-Hookd-Metadata", meta, JsonObject));
  return src;
}

function msysSource(value: string): Source {
  const m = parseJson("X-MSYS-API", value, MsysSchema);
  const o = m.options ?? {};
  const aspects: Partial3 = {};
  if (o.open_tracking !== undefined) aspects.opens = o.open_tracking;
  if (o.click_tracking !== undefined) aspects.clicks = o.click_tracking;
  return {
    marked: o.open_tracking !== undefined || o.click_tracking !== undefined,
    aspects,
    ...(m.campaign_id !== undefined ? { campaign_id: m.campaign_id } : {}),
    ...(m.tags ? { tags: dedupeTags(m.tags) } : {}),
    ...(m.metadata ? { metadata: flattenMetadata("X-MSYS-API", m.metadata) } : {}),
  };
}

function smtpApiSource(value: string): Source {
  const s = parseJson("X-SMTPAPI", value, SmtpApiSchema);
  const f = s.filters ?? {};
  const aspects: Partial3 = {};
  const open = f.opentrack?.settings?.enable;
  const click = f.clicktrack?.settings?.enable;
  const unsub = f.subscriptiontrack?.settings?.enable;
  if (open !== undefined) aspects.opens = open;
  if (click !== undefined) aspects.clicks = click;
  if (unsub !== undefined) aspects.unsubscribe = unsub;
  const tags = s.category === undefined ? undefined : dedupeTags(typeof s.category === "string" ? [s.category] : s.category);
  return {
    marked: open !== undefined || click !== undefined || unsub !== undefined,
    aspects,
    ...(tags ? { tags } : {}),
    ...(s.unique_args ? { metadata: flattenMetadata("X-SMTPAPI", s.unique_args) } : {}),
  };
}

/** The application's wishes for one message, from its header fields. */
export function readControl(fields: readonly HeaderField[], mode: TrackMode, defaults: TrackAspects): Control {
  if (mode === "off") return { track: null, marked: false, remove: [], problems: [] };
  const wanted = new Set(CONTROL_HEADERS.map(fieldKey));
  const present = new Map<string, string[]>();
  const remove: string[] = [];
  for (const f of fields) {
    const key = fieldKey(f.name);
    if (!wanted.has(key)) continue;
    if (!present.has(key)) remove.push(f.name.trim());
    present.set(key, [...(present.get(key) ?? []), unfold(f.value).trim()]);
  }
  const problems: string[] = [];
  const name = (key: string) => CONTROL_HEADERS.find((h) => fieldKey(h) === key)!;
  const get = (key: string): string | undefined => {
    const values = present.get(key);
    if (!values) return undefined;
    if (values.length > 1) throw new ControlProblem(`${name(key)} appears ${values.length} times`);
    if (Buffer.byteLength(values[0]!) > MAX_CONTROL_BYTES) throw new ControlProblem(`${name(key)} is over ${MAX_CONTROL_BYTES} bytes`);
    return values[0]!;
  };
  const sources: Source[] = [];
  const read = (fn: () => Source | null) => {
    try {
      const s = fn();
      if (s) sources.push(s);
    } catch (err) {
      // anything else (say, JSON nested too deep to handle) is as unreadable
      problems.push(err instanceof ControlProblem ? err.message : `a control header is unreadable (${(err as Error).message})`);
    }
  };
  read(() => hookdSource(get, defaults));
  read(() => {
    const v = get("x-msys-api");
    return v === undefined ? null : msysSource(v);
  });
  read(() => {
    const v = get("x-smtpapi");
    return v === undefined ? null : smtpApiSource(v);
  });

  const first = <K extends keyof Source>(k: K) => sources.find((s) => s[k] !== undefined)?.[k];
  const campaign_id = first("campaign_id") as string | undefined;
  const tags = first("tags") as string[] | undefined;
  const metadata = first("metadata") as Metadata | undefined;
  const marked = sources.some((s) => s.marked);
  let track: TrackAspects | null = null;
  if (problems.length === 0 && (mode === "all" || marked)) {
    const pick = (k: keyof TrackAspects) => sources.find((s) => s.aspects[k] !== undefined)?.aspects[k] ?? defaults[k];
    track = { opens: pick("opens"), clicks: pick("clicks"), unsubscribe: pick("unsubscribe") };
  }
  return {
    track,
    marked,
    ...(campaign_id !== undefined ? { campaign_id } : {}),
    ...(tags !== undefined ? { tags } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    remove,
    problems,
  };
}
