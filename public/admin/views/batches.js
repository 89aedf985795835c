// @ts-check
// A webhook's batches: the table of recent or dead-lettered batches, each batch's attempts.
import { h } from "../dom.js";
import { num } from "../format.js";
import { badge, clock, when } from "../widgets.js";
/** @import { BatchDetail, BatchStatus } from "../types" */

/**
 * The batches whose attempts are shown, and the attempts fetched for them.
 * @typedef {object} OpenAttempts
 * @property {Set<string>} expanded batch ids whose attempts are shown
 * @property {Map<string, { attempts: number, detail: BatchDetail }>} cache each batch's detail, and at how many attempts it was fetched
 * @property {(batchId: string) => void} toggle
 */

const COLUMNS = ["Batch", "State", "Events", "Attempts", "Response", "Last activity", "Next attempt"];

/**
 * @param {BatchStatus[]} rows
 * @param {{ caption?: string, attempts?: OpenAttempts }} [opts] without `attempts` the rows do not expand
 */
export function batchTable(rows, { caption = "Recent batches, newest first", attempts } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, "No batches yet. They appear here as events arrive for this webhook.");
  return h(
    "table",
    { class: "table cards batches" },
    h("caption", { class: "sr-only" }, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        COLUMNS.map((t) => h("th", { scope: "col" }, t)),
        attempts ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Details")) : null,
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((b) => batchRows(b, attempts)),
    ),
  );
}

/** @param {BatchStatus} b @param {OpenAttempts} [attempts] */
function batchRows(b, attempts) {
  const open = Boolean(attempts?.expanded.has(b.batch_id));
  const attemptsId = `attempts-${b.batch_id}`;
  return [
    h(
      "tr",
      { "data-batch": b.batch_id, "data-state": b.state },
      h(
        "th",
        { scope: "row", "data-label": "Batch", class: "mono" },
        b.batch_id.slice(-10),
        b.kind === "replay" ? h("span", { class: "sub" }, " replay") : null,
      ),
      h("td", { "data-label": "State" }, badge(b.state)),
      h("td", { "data-label": "Events" }, num(b.events)),
      h("td", { "data-label": "Attempts" }, num(b.attempts)),
      h(
        "td",
        { "data-label": "Response" },
        b.response_code ?? h("span", { class: "muted" }, "—"),
        b.failure_code && b.failure_code !== `http_${b.response_code}` ? h("div", { class: "sub" }, b.failure_code) : null,
      ),
      h("td", { "data-label": "Last activity" }, when(b.ts)),
      h("td", { "data-label": "Next attempt" }, b.next_attempt ? when(b.next_attempt) : h("span", { class: "muted" }, "—")),
      attempts
        ? h(
            "td",
            { class: "cell-action" },
            h(
              "button",
              {
                type: "button",
                class: "quiet small",
                "aria-expanded": String(open),
                "aria-controls": attemptsId,
                "data-key": `attempts-${b.batch_id}`,
                onclick: () => attempts.toggle(b.batch_id),
              },
              open ? "Hide attempts" : "Attempts",
              h("span", { class: "sr-only" }, ` of batch ${b.batch_id}`),
            ),
          )
        : null,
    ),
    open
      ? h(
          "tr",
          { id: attemptsId, class: "attempts-row" },
          h("td", { colspan: COLUMNS.length + 1 }, attemptList(attempts?.cache.get(b.batch_id)?.detail)),
        )
      : null,
  ];
}

/** @param {BatchDetail | undefined} detail */
function attemptList(detail) {
  if (!detail) return h("p", { class: "muted" }, "Loading attempts…");
  if (!detail.attempts.length) return h("p", { class: "muted" }, "Not attempted yet.");
  return h(
    "ol",
    { class: "attempts" },
    detail.attempts.map((a) =>
      h(
        "li",
        {},
        h(
          "span",
          { class: "attempt-head" },
          `#${a.attempt} `,
          clock(a.ts),
          " — ",
          a.response_code !== null ? `HTTP ${a.response_code}` : (a.failure_code ?? "?"),
          a.latency_ms !== null ? ` in ${num(a.latency_ms)} ms` : "",
        ),
        a.response ? h("pre", {}, a.response) : null,
      ),
    ),
  );
}

/**
 * The dead-lettered batches and the button that queues them again.
 * @param {BatchStatus[]} list
 * @param {number} count all the webhook's dead batches (the list shows the newest)
 * @param {(button: HTMLButtonElement) => void} retry
 */
export function deadLetters(list, count, retry) {
  if (!list.length)
    return h("p", { class: "muted" }, "No dead letters. Batches land here when the receiver kept failing for delivery.retry_for.");
  const button = h("button", { type: "button", class: "primary", "data-key": "retry", onclick: () => retry(button) }, "Retry dead letters");
  return [
    h(
      "div",
      { class: "title-row" },
      h(
        "p",
        {},
        `${num(count)} ${count === 1 ? "batch was" : "batches were"} dead-lettered. They are kept until you retry or replay them.`,
      ),
      button,
    ),
    batchTable(list, { caption: "Dead-lettered batches" }),
  ];
}
