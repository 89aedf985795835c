// @ts-check
// Sources: hookd's uptime and intake, the log files it tails, the feedback mail it reads, and
// the queue of each webhook.
import { h, main, must, swap } from "../dom.js";
import { bytes, duration, num } from "../format.js";
import { badge, heading, sparkline, when } from "../widgets.js";
/** @import { View } from "../state.js" */
/** @import { FeedbackStatus, QueueStatus, SourceStatus, Status } from "../types" */

const REFRESH_MS = 3000;

/** @type {View} */
export async function sourcesView(_state, api, ctx) {
  const overview = h("div", { class: "region" });
  const sources = h("div", { class: "region" });
  const feedback = h("div", { class: "region" });
  const queues = h("div", { class: "region" });
  main().append(
    heading("Sources"),
    overview,
    h("section", { "aria-labelledby": "h-files" }, h("h2", { id: "h-files" }, "Log files"), sources),
    h("section", { "aria-labelledby": "h-feedback" }, h("h2", { id: "h-feedback" }, "Feedback mail"), feedback),
    h("section", { "aria-labelledby": "h-queues" }, h("h2", { id: "h-queues" }, "Queues"), queues),
  );
  const load = async () => {
    const s = await api.status(ctx.signal);
    if (ctx.signal.aborted) return;
    must("#version").textContent = `hookd ${s.version}`;
    swap(overview, overviewPanel(s));
    swap(sources, sourceTable(s.sources));
    swap(feedback, feedbackPanel(s.feedback ?? null));
    swap(queues, queueTable(s.webhooks));
  };
  await load();
  ctx.every(REFRESH_MS, load);
}

/** @param {Status} s */
function overviewPanel(s) {
  return h(
    "div",
    { class: "overview" },
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Version"),
      h("dd", {}, s.version),
      h("dt", {}, "Up for"),
      h("dd", {}, duration(s.uptime_s)),
      h("dt", {}, "Events stored, last hour"),
      h("dd", {}, num(s.events_per_minute.reduce((a, b) => a + b, 0))),
    ),
    h(
      "div",
      { class: "overview-spark" },
      h("p", { class: "label" }, "Events stored per minute, last hour"),
      sparkline(s.events_per_minute, { width: 360, height: 48, what: "Events stored per minute" }),
    ),
  );
}

/** @param {SourceStatus[]} list */
function sourceTable(list) {
  if (!list.length) {
    return h(
      "div",
      { class: "empty" },
      h("p", {}, "No log files are tailed."),
      h(
        "p",
        { class: "hint" },
        "Add a ",
        h("code", {}, "[[sources]]"),
        " table with the path and format (postfix, exim, jsonl) of your mail log to hookd.toml and restart hookd. Events from POST /events arrive either way.",
      ),
    );
  }
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Log files hookd tails"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["File", "State", "Lag", "Lines / s", "Lines read", "Not understood"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      list.map((src) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", "data-label": "File" }, h("span", { class: "mono" }, src.path), h("div", { class: "sub" }, src.format)),
          h(
            "td",
            { "data-label": "State" },
            badge(src.status === "missing" ? "failing" : src.status === "reading" ? "pending" : "active", src.status),
          ),
          h(
            "td",
            { "data-label": "Lag" },
            bytes(src.lag_bytes),
            h("div", { class: "sub" }, `at ${bytes(src.offset)} of ${bytes(src.size)}`),
          ),
          h("td", { "data-label": "Lines / s" }, num(Math.round(src.lines_per_second * 10) / 10)),
          h("td", { "data-label": "Lines read" }, num(src.lines_read)),
          h(
            "td",
            { "data-label": "Not understood" },
            num(src.lines_not_understood),
            src.recent_not_understood.length
              ? h("details", {}, h("summary", {}, "Recent"), h("pre", {}, src.recent_not_understood.join("\n")))
              : null,
          ),
        ),
      ),
    ),
  );
}

/** Bounces, complaints and unsubscribe mail read since start: by kind, how each was matched, and what no parser read. @param {FeedbackStatus | null} f */
function feedbackPanel(f) {
  if (!f) {
    return h(
      "div",
      { class: "empty" },
      h("p", {}, "The feedback listener is off."),
      h(
        "p",
        { class: "hint" },
        "Set ",
        h("code", {}, "[feedback] listen"),
        ' (e.g. "127.0.0.1:8024") and route your bounce domain to it over LMTP to turn bounce reports and complaints into out_of_band and spam_complaint events, or pipe them to ',
        h("code", {}, "hookd feedback"),
        ".",
      ),
    );
  }
  /** @param {Record<string, number>} counts */
  const pairs = (counts) =>
    Object.entries(counts)
      .map(([k, n]) => `${k.replace(/_/g, " ")} ${num(n)}`)
      .join(" · ");
  return h(
    "div",
    {},
    h(
      "dl",
      { class: "facts grid" },
      /** @type {[string, string | Node][]} */ ([
        ["Listening on", h("span", { class: "mono" }, f.listen)],
        ["Messages by kind", pairs(f.received)],
        ["Matched to their message by", pairs(f.matched)],
        ["Events stored", num(f.events)],
        ["Our own MTA's DSNs (no event)", num(f.own_dsns)],
        ["Tokens that did not verify", num(f.rejected_tokens)],
        ["Refused with 451 (store)", f.commit_failures ? h("span", { class: "danger" }, num(f.commit_failures)) : "0"],
        ["Refused with 552 (too large)", num(f.too_large)],
      ]).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
    ),
    f.unparsed === null
      ? h("p", { class: "hint" }, "Unparsed samples need an API key with events:read: they hold addresses and message text.")
      : f.unparsed.length === 0
        ? h("p", { class: "muted" }, "Every message was read.")
        : h(
            "details",
            {},
            h("summary", {}, `Last ${f.unparsed.length} messages no parser read`),
            f.unparsed.map((u) =>
              h(
                "div",
                {},
                h(
                  "p",
                  {},
                  h("strong", {}, u.reason),
                  ` — ${u.at}, ${num(u.size)} bytes, from <${u.mail_from}> to ${u.rcpt_to.join(", ")}${u.subject ? `, "${u.subject}"` : ""}`,
                ),
                h("pre", {}, u.excerpt),
              ),
            ),
          ),
  );
}

/** @param {QueueStatus[]} list */
function queueTable(list) {
  if (!list.length) return h("p", { class: "muted" }, "No webhooks.");
  return h(
    "table",
    { class: "table cards" },
    h("caption", { class: "sr-only" }, "Queue per webhook"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Webhook", "Status", "Queue", "Oldest waiting", "Dead letters"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      list.map((w) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", "data-label": "Webhook" }, h("a", { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.name)),
          h("td", { "data-label": "Status" }, badge(w.status)),
          h("td", { "data-label": "Queue" }, `${num(w.queue_depth)} events`),
          h("td", { "data-label": "Oldest waiting" }, when(w.oldest_pending, "none")),
          h("td", { "data-label": "Dead letters" }, w.dead_batches ? h("span", { class: "danger" }, num(w.dead_batches)) : "0"),
        ),
      ),
    ),
  );
}
