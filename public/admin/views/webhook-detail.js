// @ts-check
// One webhook: its state, dead letters and recent batches (refreshed while on screen), and
// the actions: edit, validate, rotate the secret, delete, retry dead letters, replay.
import { ApiError } from "../api.js";
import { $, h, main, swap } from "../dom.js";
import { num } from "../format.js";
import { say, sayError, sayNext } from "../status.js";
import { badge, heading, sparkline } from "../widgets.js";
import { batchTable, deadLetters } from "./batches.js";
import { replayForm, secretPanel, webhookSummary } from "./webhook-panels.js";
/** @import { View } from "../state.js" */
/** @import { OpenAttempts } from "./batches.js" */

const REFRESH_MS = 2000;

/** @type {View} */
export async function webhookDetailView(state, api, ctx) {
  const id = ctx.id ?? "";
  const found = await api.webhook(id, ctx.signal).catch((err) => {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  });
  if (!found) {
    main().append(
      heading("Webhook not found"),
      h("p", {}, `There is no webhook with id ${id}. `, h("a", { href: "#/webhooks" }, "Back to the webhooks.")),
    );
    return;
  }
  let hook = found;

  const titleStatus = h("span", {});
  const summary = h("div", { class: "region" });
  const spark = h("div", { class: "spark-wide" });
  const dead = h("div", { class: "region" });
  const batches = h("div", { class: "region" });
  const actionResult = h("div", { class: "region", "aria-live": "polite" });
  const secretSlot = h("div", {});
  /** @type {OpenAttempts} */
  const attempts = { expanded: new Set(), cache: new Map(), toggle: (batchId) => void toggleAttempts(batchId) };

  if (state.justCreated?.id === id) {
    secretSlot.append(
      secretPanel(
        "Signing secret",
        state.justCreated.secret,
        "Shown in full only now. Your receiver verifies the webhook-signature header with it.",
      ),
    );
    state.justCreated = null;
  }

  const validateBtn = h("button", { type: "button", onclick: () => validate() }, "Validate");
  const rotateBtn = h("button", { type: "button", onclick: () => rotate() }, "Rotate secret");
  const deleteBtn = h("button", { type: "button", class: "danger", onclick: () => remove() }, "Delete");

  main().append(
    h("p", { class: "crumbs" }, h("a", { href: "#/webhooks" }, "Webhooks"), " / "),
    h("div", { class: "title" }, heading(hook.name), titleStatus),
    h("p", { class: "mono sub target" }, hook.target),
    secretSlot,
    h(
      "div",
      { class: "actions", role: "group", "aria-label": "Webhook actions" },
      h("a", { class: "button", href: `#/webhooks/${encodeURIComponent(id)}/edit` }, "Edit"),
      validateBtn,
      rotateBtn,
      deleteBtn,
    ),
    actionResult,
    h("section", { "aria-labelledby": "h-overview" }, h("h2", { id: "h-overview", class: "sr-only" }, "Overview"), summary, spark),
    h("section", { "aria-labelledby": "h-dead" }, h("h2", { id: "h-dead" }, "Dead letters"), dead),
    h("section", { "aria-labelledby": "h-batches" }, h("h2", { id: "h-batches" }, "Recent batches"), batches),
    h("section", { "aria-labelledby": "h-replay" }, h("h2", { id: "h-replay" }, "Replay"), replayForm(api, ctx.signal, hook)),
  );

  async function load() {
    const [w, recent, deadList, perMinute] = await Promise.all([
      api.webhook(id, ctx.signal),
      api.batches(id, { limit: 25 }, ctx.signal),
      api.batches(id, { limit: 20, state: "dead" }, ctx.signal),
      api.deliveredPerMinute(id, 60, ctx.signal),
    ]);
    hook = w;
    // Attempts of the opened batches, refetched only when a new attempt was made.
    await Promise.all(
      recent
        .filter((b) => attempts.expanded.has(b.batch_id) && attempts.cache.get(b.batch_id)?.attempts !== b.attempts)
        .map(async (b) => attempts.cache.set(b.batch_id, { attempts: b.attempts, detail: await api.batch(id, b.batch_id, ctx.signal) })),
    );
    if (ctx.signal.aborted) return;
    swap(titleStatus, badge(hook.status));
    swap(summary, webhookSummary(hook));
    swap(spark, h("p", { class: "label" }, "Delivered per minute, last hour"), sparkline(perMinute, { width: 600, height: 60 }));
    swap(dead, deadLetters(deadList, hook.dead_batches, retry));
    swap(batches, batchTable(recent, { attempts }));
  }

  /** @param {string} batchId */
  async function toggleAttempts(batchId) {
    if (attempts.expanded.has(batchId)) attempts.expanded.delete(batchId);
    else attempts.expanded.add(batchId);
    await load().catch((err) => sayError(err, ctx.signal));
  }

  /** @param {HTMLButtonElement} button */
  async function retry(button) {
    button.disabled = true;
    try {
      const r = await api.retryDead(id, ctx.signal);
      say(`Queued ${r.requeued} dead-lettered ${r.requeued === 1 ? "batch" : "batches"} again.`, "ok");
      await load();
    } catch (err) {
      sayError(err, ctx.signal);
    } finally {
      button.disabled = false;
    }
  }

  async function validate() {
    validateBtn.disabled = true;
    swap(actionResult, h("p", { class: "muted" }, "Sending a sample batch…"));
    try {
      const r = await api.validate(id, ctx.signal);
      const good = r.failure_code === null;
      say(r.msg, good ? "ok" : "error");
      swap(
        actionResult,
        h(
          "div",
          { class: `panel ${good ? "ok" : "bad"}` },
          h("h2", {}, "Validate: ", r.msg),
          h(
            "dl",
            { class: "facts pairs" },
            h("dt", {}, "Status"),
            h("dd", {}, r.response.status ?? r.failure_code ?? "—"),
            h("dt", {}, "Latency"),
            h("dd", {}, `${num(r.latency_ms)} ms`),
          ),
          r.response.body ? [h("p", { class: "label" }, "Response body"), h("pre", {}, r.response.body)] : null,
          h("button", { type: "button", class: "quiet small", onclick: () => actionResult.replaceChildren() }, "Dismiss"),
        ),
      );
    } catch (err) {
      swap(actionResult);
      sayError(err, ctx.signal);
    } finally {
      validateBtn.disabled = false;
    }
  }

  async function rotate() {
    if (!confirm("Rotate the signing secret? The old secret keeps signing alongside the new one for 24 hours.")) return;
    rotateBtn.disabled = true;
    try {
      const r = await api.rotateSecret(id, ctx.signal);
      say("Signing secret rotated.", "ok");
      swap(
        actionResult,
        secretPanel(
          "New signing secret",
          r.secret,
          `The previous secret also signs until ${new Date(r.previous_secret_expires).toLocaleString()}. Update your receiver before then.`,
        ),
      );
      $("button", actionResult)?.focus();
    } catch (err) {
      sayError(err, ctx.signal);
    } finally {
      rotateBtn.disabled = false;
    }
  }

  async function remove() {
    if (!confirm(`Delete the webhook "${hook.name}"? Its queued batches are dropped.`)) return;
    try {
      await api.deleteWebhook(id, ctx.signal);
      sayNext(state, `Deleted the webhook "${hook.name}".`);
      location.hash = "#/webhooks";
    } catch (err) {
      sayError(err, ctx.signal);
    }
  }

  await load();
  ctx.every(REFRESH_MS, load);
}
