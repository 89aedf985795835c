// @ts-check
// Parts of a webhook's page: the facts about it, a signing secret shown once, the replay form.
import { h } from "../dom.js";
import { num, splitList, toIso, toLocalInput } from "../format.js";
import { clearErrors, field, showErrors } from "../forms.js";
import { say } from "../status.js";
import { when } from "../widgets.js";
/** @import { Api } from "../api.js" */
/** @import { Child } from "../dom.js" */
/** @import { Webhook } from "../types" */

/** @type {Record<string, string>} */
const AUTH_TEXT = { none: "none", token: "token header", basic: "basic", oauth2: "OAuth2 client credentials" };

/** @param {Webhook} w */
export function webhookSummary(w) {
  /** @type {[string, Child][]} */
  const facts = [
    ["Events", w.events.includes("*") ? "all types" : w.events.join(", ")],
    ["Queue", `${num(w.queue_depth)} events in ${num(w.pending_batches)} pending ${w.pending_batches === 1 ? "batch" : "batches"}`],
    ["Oldest waiting", when(w.oldest_pending, "none")],
    ["Last success", when(w.last_successful)],
    ["Last failure", [when(w.last_failure), w.last_failure_code ? ` (${w.last_failure_code})` : ""]],
    ["Format", w.format],
    ["Auth", AUTH_TEXT[w.auth_type] ?? w.auth_type],
    ["Verification", w.verification],
  ];
  return h(
    "dl",
    { class: "facts grid" },
    facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
  );
}

/**
 * A signing secret with a Copy button; the API shows it in full only once.
 * @param {string} title
 * @param {string} secret
 * @param {string} note
 */
export function secretPanel(title, secret, note) {
  const code = h("code", { class: "secret" }, secret);
  const copy = h("button", { type: "button", class: "small" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      say("Copied the secret to the clipboard.", "ok");
    } catch {
      getSelection()?.selectAllChildren(code);
      say("Select and copy the secret by hand (the clipboard is not available here).", "info");
    }
  });
  return h("div", { class: "panel ok" }, h("h2", {}, title), h("p", { class: "secret-row" }, code, copy), h("p", { class: "hint" }, note));
}

/**
 * Send stored events again as new batches.
 * @param {Api} api
 * @param {AbortSignal} signal the view's
 * @param {Webhook} hook
 */
export function replayForm(api, signal, hook) {
  const since = h("input", {
    id: "replay-since",
    name: "since",
    type: "datetime-local",
    required: true,
    value: toLocalInput(new Date(Date.now() - 3_600_000).toISOString()),
  });
  const untilInput = h("input", { id: "replay-until", name: "until", type: "datetime-local" });
  const types = h("input", {
    id: "replay-events",
    name: "events",
    type: "text",
    placeholder: hook.events.includes("*") ? "all types" : hook.events.join(", "),
    autocomplete: "off",
  });
  const submit = h("button", { type: "submit" }, "Replay");
  const form = h(
    "form",
    { class: "form inline-form", novalidate: true },
    h("p", { class: "hint" }, "Send stored events again as new batches. They keep their event_id, so receivers can drop duplicates."),
    h(
      "div",
      { class: "row" },
      field("since", "Since (your local time)", since),
      field("until", "Until (optional)", untilInput, "Default: now."),
      field("events", "Event types (optional)", types, "Comma-separated; default: the types this webhook gets."),
    ),
    h("div", { class: "form-errors", hidden: true }),
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    /** @type {{ since: string, until?: string, events?: string[] }} */
    const body = { since: toIso(since.value) ?? "" };
    if (untilInput.value) body.until = toIso(untilInput.value);
    const list = splitList(types.value);
    if (list.length) body.events = list;
    submit.disabled = true;
    try {
      const r = await api.replay(hook.id, body, signal);
      say(`Replay queued: ${num(r.events)} events in ${num(r.batches)} ${r.batches === 1 ? "batch" : "batches"}.`, "ok");
    } catch (err) {
      if (signal.aborted) return;
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
