// @ts-check
// Events: search by type, recipient, message id and time range (kept in the address so it
// can be bookmarked), and the live tail.
import { h, main, swap } from "../dom.js";
import { toIso, toLocalInput } from "../format.js";
import { clearErrors, field, showErrors } from "../forms.js";
import { say } from "../status.js";
import { clock, heading } from "../widgets.js";
import { liveTail } from "./live-tail.js";
/** @import { View } from "../state.js" */
/** @import { MailEvent } from "../types" */

/** @type {View} */
export async function eventsView(_state, api, ctx) {
  const schema = await api.formSchema().catch(() => ({ eventTypes: [] }));
  const p = ctx.params;
  /** @param {string} name */
  const localParam = (name) => {
    const v = p.get(name);
    return v ? toLocalInput(v) : "";
  };
  const type = h(
    "select",
    { name: "type" },
    h("option", { value: "" }, "Any type"),
    schema.eventTypes.map((t) => h("option", { value: t, selected: p.get("type") === t }, t)),
  );
  const rcpt = h("input", { name: "rcpt_to", type: "text", inputmode: "email", autocomplete: "off", value: p.get("rcpt_to") ?? "" });
  const mid = h("input", { name: "message_id", type: "text", autocomplete: "off", value: p.get("message_id") ?? "" });
  const since = h("input", { name: "since", type: "datetime-local", value: localParam("since") });
  const untilInput = h("input", { name: "until", type: "datetime-local", value: localParam("until") });
  const results = h("div", { class: "region" });
  const submit = h("button", { type: "submit", class: "primary" }, "Search");
  const form = h(
    "form",
    { class: "form search", role: "search", "aria-label": "Search events", novalidate: true },
    h("div", { class: "row" }, field("type", "Type", type), field("rcpt_to", "Recipient", rcpt), field("message_id", "Message ID", mid)),
    h("div", { class: "row" }, field("since", "From (your local time)", since), field("until", "Until", untilInput)),
    h("div", { class: "form-errors", hidden: true }),
    h("div", { class: "actions" }, submit, h("button", { type: "reset", class: "quiet" }, "Clear")),
  );

  /** @type {MailEvent[]} */
  let items = [];
  /** @type {string | null} */
  let next = null;
  const query = () => ({
    type: type.value,
    rcpt_to: rcpt.value.trim(),
    message_id: mid.value.trim(),
    since: toIso(since.value),
    until: toIso(untilInput.value),
  });

  async function search(more = false) {
    clearErrors(form);
    submit.disabled = true;
    try {
      const q = query();
      const r = await api.events({ ...q, limit: 50, cursor: more ? next : undefined }, ctx.signal);
      items = more ? [...items, ...r.results] : r.results;
      next = r.next_cursor;
      // Keep the search in the address, without re-rendering, so it can be bookmarked.
      const qs = new URLSearchParams(Object.entries(q).flatMap(([k, v]) => (v ? [[k, v]] : [])));
      history.replaceState(null, "", `#/events${qs.size ? `?${qs}` : ""}`);
      swap(
        results,
        eventTable(items, next, () => search(true)),
      );
      say(
        items.length ? `${items.length}${next ? "+" : ""} ${items.length === 1 ? "event" : "events"} found.` : "No events match.",
        "info",
      );
    } catch (err) {
      if (!ctx.signal.aborted) showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  // After the reset has cleared the fields.
  form.addEventListener("reset", () => setTimeout(() => search(), 0));

  main().append(
    heading("Events"),
    form,
    h("section", { "aria-labelledby": "h-results" }, h("h2", { id: "h-results", class: "sr-only" }, "Results"), results),
    h("section", { "aria-labelledby": "h-tail" }, h("h2", { id: "h-tail" }, "Live tail"), liveTail(api, ctx.signal)),
  );
  await search();
}

/**
 * @param {MailEvent[]} items
 * @param {string | null} next the cursor of the next page, if any
 * @param {() => void} more loads it
 */
function eventTable(items, next, more) {
  if (!items.length) return h("p", { class: "muted empty" }, "No events match. Events stay searchable for storage.retention.");
  return [
    h(
      "table",
      { class: "table cards events" },
      h("caption", { class: "sr-only" }, "Events, newest first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Time", "Type", "Recipient", "Message ID", "Details"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        items.map((e) =>
          h(
            "tr",
            { "data-event": e.event_id },
            h("td", { "data-label": "Time" }, clock(e.timestamp)),
            h(
              "td",
              { "data-label": "Type" },
              h("span", { class: `type type-${e.type}` }, e.type === "custom" && e.custom_type ? `custom: ${e.custom_type}` : e.type),
            ),
            h("td", { "data-label": "Recipient", class: "mono" }, e.rcpt_to ?? "—"),
            h("td", { "data-label": "Message ID", class: "mono clip" }, e.message_id ?? "—"),
            h(
              "td",
              { "data-label": "Details" },
              h(
                "details",
                {},
                h("summary", {}, "JSON", h("span", { class: "sr-only" }, ` of event ${e.event_id}`)),
                h("pre", {}, JSON.stringify(e, null, 2)),
              ),
            ),
          ),
        ),
      ),
    ),
    next ? h("button", { type: "button", class: "more", "data-key": "more", onclick: more }, "Load more") : null,
  ];
}
