// @ts-check
// The webhooks list: status, queue, last success and failure, and a sparkline of deliveries.
import { h, main, swap } from "../dom.js";
import { num } from "../format.js";
import { badge, heading, sparkline, when } from "../widgets.js";
/** @import { View } from "../state.js" */
/** @import { Webhook } from "../types" */

const REFRESH_MS = 5000;

/** @type {View} */
export async function webhooksView(_state, api, ctx) {
  const body = h("div", { class: "region" }, h("p", { class: "muted" }, "Loading…"));
  main().append(
    h("div", { class: "title-row" }, heading("Webhooks"), h("a", { class: "button primary", href: "#/webhooks/new" }, "New webhook")),
    body,
  );
  const load = async () => {
    const hooks = await api.webhooks(ctx.signal);
    // A sparkline that fails to load is left out; the list still shows.
    const stats = await Promise.all(hooks.map((w) => api.deliveredPerMinute(w.id, 60, ctx.signal).catch(() => null)));
    if (ctx.signal.aborted) return;
    if (!hooks.length) {
      swap(body, h("div", { class: "empty" }, h("p", {}, "No webhooks yet."), h("p", {}, h("a", { href: "#/webhooks/new" }, "Create one"), " to have hookd POST mail events to your endpoint.")));
      return;
    }
    swap(body, webhooksTable(hooks, stats));
  };
  await load();
  ctx.every(REFRESH_MS, load);
}

/** @param {Webhook[]} hooks @param {(number[] | null)[]} stats */
function webhooksTable(hooks, stats) {
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Webhooks with status, queue and delivery rate"),
    h("thead", {}, h("tr", {}, ["Webhook", "Status", "Queue", "Last success", "Last failure", "Delivered / min"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      hooks.map((w, i) => {
        const perMinute = stats[i];
        return h(
          "tr",
          {},
          h("th", { scope: "row", "data-label": "Webhook" },
            h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}`, "data-key": `open-${w.id}` }, w.name),
            h("div", { class: "sub mono" }, w.target),
          ),
          h("td", { "data-label": "Status" }, badge(w.status)),
          h("td", { "data-label": "Queue" }, `${num(w.queue_depth)} events`, w.dead_batches ? h("div", { class: "sub danger" }, `${num(w.dead_batches)} dead-lettered`) : null),
          h("td", { "data-label": "Last success" }, when(w.last_successful)),
          h("td", { "data-label": "Last failure" }, when(w.last_failure), w.last_failure_code ? h("div", { class: "sub" }, w.last_failure_code) : null),
          h("td", { "data-label": "Delivered / min" }, perMinute ? sparkline(perMinute) : h("span", { class: "muted" }, "—")),
        );
      }),
    ),
  );
}
