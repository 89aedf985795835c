// @ts-check
// The webhooks list: status, queue, last success and failure, and a sparkline of deliveries;
// "Check all" sends every webhook a sample now and shows what each receiver answered.
import { h, main, swap } from "../dom.js";
import { num } from "../format.js";
import { say, sayError } from "../status.js";
import { badge, heading, sparkline, when } from "../widgets.js";
/** @import { View } from "../state.js" */
/** @import { CheckResult, Webhook } from "../types" */

const REFRESH_MS = 5000;

/** @type {View} */
export async function webhooksView(_state, api, ctx) {
  const body = h("div", { class: "region" }, h("p", { class: "muted" }, "Loading…"));
  const checks = h("div", { class: "region", "aria-live": "polite" });
  const checkBtn = h("button", { type: "button", onclick: () => checkAll() }, "Check all");
  main().append(
    h(
      "div",
      { class: "title-row" },
      heading("Webhooks"),
      h("a", { class: "button primary", href: "#/webhooks/new" }, "New webhook"),
      checkBtn,
    ),
    checks,
    body,
  );

  async function checkAll() {
    checkBtn.disabled = true;
    swap(checks, h("p", { class: "muted" }, "Sending every webhook a sample…"));
    try {
      const list = await api.validateAll(ctx.signal);
      const good = list.filter((r) => r.failure_code === null).length;
      const summary = `Check all: ${good} of ${list.length} ${list.length === 1 ? "webhook" : "webhooks"} answered 2xx.`;
      say(summary, good === list.length ? "ok" : "error");
      swap(
        checks,
        checkPanel(summary, list, () => checks.replaceChildren()),
      );
    } catch (err) {
      swap(checks);
      sayError(err, ctx.signal);
    } finally {
      checkBtn.disabled = false;
    }
  }

  const load = async () => {
    const hooks = await api.webhooks(ctx.signal);
    // A sparkline that fails to load is left out; the list still shows.
    const stats = await Promise.all(hooks.map((w) => api.deliveredPerMinute(w.id, 60, ctx.signal).catch(() => null)));
    if (ctx.signal.aborted) return;
    if (!hooks.length) {
      swap(
        body,
        h(
          "div",
          { class: "empty" },
          h("p", {}, "No webhooks yet."),
          h("p", {}, h("a", { href: "#/webhooks/new" }, "Create one"), " to have hookd POST mail events to your endpoint."),
        ),
      );
      return;
    }
    swap(body, webhooksTable(hooks, stats));
  };
  await load();
  ctx.every(REFRESH_MS, load);
}

/** @param {string} summary @param {CheckResult[]} list @param {() => void} dismiss */
function checkPanel(summary, list, dismiss) {
  const allGood = list.every((r) => r.failure_code === null);
  return h(
    "div",
    { class: `panel ${allGood ? "ok" : "bad"}` },
    h("h2", {}, summary),
    list.length
      ? h(
          "table",
          { class: "table cards checks-table" },
          h("caption", { class: "sr-only" }, "What each webhook's receiver answered"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Webhook", "Result", "Answer", "Latency"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h(
            "tbody",
            {},
            list.map((r) =>
              h(
                "tr",
                { "data-check": r.id, "data-ok": String(r.failure_code === null) },
                h("th", { scope: "row", "data-label": "Webhook" }, h("a", { href: `#/webhooks/${encodeURIComponent(r.id)}` }, r.name)),
                h(
                  "td",
                  { "data-label": "Result" },
                  badge(r.failure_code === null ? "active" : "failing", r.failure_code === null ? "ok" : "failed"),
                  h("div", { class: "sub" }, r.msg),
                ),
                h(
                  "td",
                  { "data-label": "Answer" },
                  r.response.status !== null ? `HTTP ${r.response.status}` : (r.failure_code ?? "—"),
                  r.response.body ? h("div", { class: "sub clip" }, r.response.body) : null,
                ),
                h("td", { "data-label": "Latency" }, `${num(r.latency_ms)} ms`),
              ),
            ),
          ),
        )
      : h("p", {}, "No webhooks to check."),
    h("button", { type: "button", class: "quiet small", onclick: dismiss }, "Dismiss"),
  );
}

/** @param {Webhook[]} hooks @param {(number[] | null)[]} stats */
function webhooksTable(hooks, stats) {
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Webhooks with status, queue and delivery rate"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Webhook", "Status", "Queue", "Last success", "Last failure", "Delivered / min"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      hooks.map((w, i) => {
        const perMinute = stats[i];
        return h(
          "tr",
          {},
          h(
            "th",
            { scope: "row", "data-label": "Webhook" },
            h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}`, "data-key": `open-${w.id}` }, w.name),
            h("div", { class: "sub mono" }, w.target),
          ),
          h("td", { "data-label": "Status" }, badge(w.status)),
          h(
            "td",
            { "data-label": "Queue" },
            `${num(w.queue_depth)} events`,
            w.dead_batches ? h("div", { class: "sub danger" }, `${num(w.dead_batches)} dead-lettered`) : null,
          ),
          h("td", { "data-label": "Last success" }, when(w.last_successful)),
          h(
            "td",
            { "data-label": "Last failure" },
            when(w.last_failure),
            w.last_failure_code ? h("div", { class: "sub" }, w.last_failure_code) : null,
          ),
          h("td", { "data-label": "Delivered / min" }, perMinute ? sparkline(perMinute) : h("span", { class: "muted" }, "—")),
        );
      }),
    ),
  );
}
