// @ts-check
// Tracking: the public listener's state, and the opens, clicks and unsubscribes it recorded
// over the last hour (per minute), day or week (per hour), with the share marked machine.
import { h, main, swap } from "../dom.js";
import { num } from "../format.js";
import { badge, clock, heading, sparkline } from "../widgets.js";
/** @import { View } from "../state.js" */
/** @import { TrackingBucket, TrackingRange, TrackingStats, TrackingStatus } from "../types" */

const REFRESH_MS = 5000;
/** @type {[TrackingRange, string][]} */
const RANGES = [
  ["hour", "Last hour"],
  ["day", "Last day"],
  ["week", "Last week"],
];

/** @type {View} */
export async function trackingView(_state, api, ctx) {
  const asked = ctx.params.get("range");
  const range = /** @type {TrackingRange} */ (RANGES.some(([r]) => r === asked) ? asked : "hour");
  const listener = h("div", { class: "region" });
  const overview = h("div", { class: "region" });
  const table = h("div", { class: "region" });
  main().append(
    heading("Tracking"),
    h("section", { "aria-labelledby": "h-listener" }, h("h2", { id: "h-listener" }, "Listener"), listener),
    h(
      "section",
      { "aria-labelledby": "h-engagement" },
      h("h2", { id: "h-engagement" }, "Opens, clicks and unsubscribes"),
      h(
        "nav",
        { class: "actions", "aria-label": "Time range" },
        RANGES.map(([r, text]) =>
          h(
            "a",
            { href: `#/tracking?range=${r}`, ...(r === range ? { class: "button primary", "aria-current": "page" } : { class: "button" }) },
            text,
          ),
        ),
      ),
      overview,
      table,
    ),
  );
  const load = async () => {
    const [status, stats] = await Promise.all([api.status(ctx.signal), api.trackingStats(range, ctx.signal)]);
    if (ctx.signal.aborted) return;
    swap(listener, listenerPanel(status.tracking));
    swap(overview, overviewPanel(stats));
    swap(table, bucketTable(stats));
  };
  await load();
  ctx.every(REFRESH_MS, load);
}

/** @param {TrackingStatus} t */
function listenerPanel(t) {
  if (!t.enabled && !t.base_url) {
    return h(
      "div",
      { class: "empty" },
      h("p", {}, "Tracking is off."),
      h(
        "p",
        { class: "hint" },
        "Set ",
        h("code", {}, "[tracking] listen"),
        " and ",
        h("code", {}, "base_url"),
        " in hookd.toml and restart hookd: it then serves opens, clicks and one-click unsubscribes itself, and POST /api/v1/tracking/rewrite makes the links.",
      ),
    );
  }
  const c = t.counts;
  const current = t.keys.find((k) => k.current);
  const retiring = t.keys.filter((k) => !k.current).length;
  const dropped = c.queueFull + c.commitFailed;
  return h(
    "dl",
    { class: "facts grid" },
    h(
      "div",
      {},
      h("dt", {}, "Listener"),
      h("dd", {}, t.enabled ? badge(t.up ? "active" : "failing", t.up ? "serving" : "down") : badge("inactive", "off (links only)")),
    ),
    h("div", {}, h("dt", {}, "Listens on"), h("dd", { class: "mono" }, t.listen || "—")),
    h("div", {}, h("dt", {}, "Links start with"), h("dd", { class: "mono" }, t.base_url || "—")),
    h(
      "div",
      {},
      h("dt", {}, "Signing key"),
      h("dd", {}, current ? `key ${current.id}` : "—", retiring ? h("span", { class: "sub" }, ` (+${retiring} still verifying)`) : null),
    ),
    h("div", {}, h("dt", {}, "Hits since start"), h("dd", {}, num(c.hits.open + c.hits.click + c.hits.unsubscribe))),
    h("div", {}, h("dt", {}, "Recorded"), h("dd", {}, num(c.recorded))),
    h("div", {}, h("dt", {}, "Not recorded"), h("dd", {}, dropped ? h("span", { class: "danger" }, num(dropped)) : "0")),
    h("div", {}, h("dt", {}, "Refused (404 / 429)"), h("dd", {}, `${num(c.notFound)} / ${num(c.rateLimited)}`)),
  );
}

/** "37 (12% machine)" @param {number} n @param {number} machine */
function withShare(n, machine) {
  return n ? `${num(n)} (${Math.round((machine / n) * 100)}% machine)` : "0";
}

/** @param {TrackingStats} s */
function overviewPanel(s) {
  const sum = (/** @type {(b: TrackingBucket) => number} */ f) => s.buckets.reduce((n, b) => n + f(b), 0);
  const unit = s.bucket_seconds === 60 ? "minute" : "hour";
  /** @param {string} what @param {(b: TrackingBucket) => number} f */
  const spark = (what, f) =>
    h(
      "div",
      { class: "overview-spark" },
      h("p", { class: "label" }, `${what} per ${unit}`),
      sparkline(s.buckets.map(f), { width: 360, height: 40, what: `${what} per ${unit}`, unit }),
    );
  return h(
    "div",
    { class: "overview" },
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Opens"),
      h(
        "dd",
        { "data-figure": "opens" },
        withShare(
          sum((b) => b.opens),
          sum((b) => b.machine_opens),
        ),
      ),
      h("dt", {}, "Clicks"),
      h(
        "dd",
        { "data-figure": "clicks" },
        withShare(
          sum((b) => b.clicks),
          sum((b) => b.machine_clicks),
        ),
      ),
      h("dt", {}, "Unsubscribes"),
      h("dd", { "data-figure": "unsubscribes" }, num(sum((b) => b.unsubscribes))),
    ),
    spark("Opens", (b) => b.opens),
    spark("Clicks", (b) => b.clicks),
    spark("Unsubscribes", (b) => b.unsubscribes),
  );
}

/** The buckets that have anything, newest first. @param {TrackingStats} s */
function bucketTable(s) {
  const rows = s.buckets.filter((b) => b.opens || b.clicks || b.unsubscribes).reverse();
  if (!rows.length) return h("p", { class: "muted" }, "Nothing recorded in this time.");
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, `Recorded per ${s.bucket_seconds === 60 ? "minute" : "hour"}, newest first`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["From", "Opens", "of them machine", "Clicks", "of them machine", "Unsubscribes"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((b) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", "data-label": "From" }, clock(b.start)),
          h("td", { "data-label": "Opens" }, num(b.opens)),
          h("td", { "data-label": "Opens by machines" }, num(b.machine_opens)),
          h("td", { "data-label": "Clicks" }, num(b.clicks)),
          h("td", { "data-label": "Clicks by machines" }, num(b.machine_clicks)),
          h("td", { "data-label": "Unsubscribes" }, num(b.unsubscribes)),
        ),
      ),
    ),
  );
}
