// @ts-check
// The live tail: new events as hookd stores them, newest first, while the button is on.
import { h } from "../dom.js";
import { clock } from "../widgets.js";
/** @import { Api } from "../api.js" */

const TAIL_MAX = 100;

/** @param {Api} api @param {AbortSignal} viewSignal ends the tail when the view is left */
export function liveTail(api, viewSignal) {
  const list = h("ol", { class: "tail", "aria-label": "New events, newest first" });
  const state = h("p", { class: "muted", role: "status" }, "Off. Start it to see events as hookd stores them.");
  const button = h("button", { type: "button", "aria-pressed": "false" }, "Start live tail");
  /** @type {AbortController | null} */
  let controller = null;
  let count = 0;

  const stop = () => {
    controller?.abort();
    controller = null;
    button.textContent = "Start live tail";
    button.setAttribute("aria-pressed", "false");
    state.textContent = count ? `Stopped after ${count} new ${count === 1 ? "event" : "events"}.` : "Off.";
  };
  button.addEventListener("click", () => {
    if (controller) return stop();
    const own = new AbortController();
    controller = own;
    viewSignal.addEventListener("abort", () => own.abort());
    button.textContent = "Stop live tail";
    button.setAttribute("aria-pressed", "true");
    state.textContent = "Connecting…";
    api.tail(own.signal, {
      onOpen: () => (state.textContent = count ? `Live. ${count} new events so far.` : "Live. Waiting for new events…"),
      onRetry: (reason, s) => (state.textContent = `Connection lost (${reason}); retrying in ${s} s…`),
      onEvent: (e) => {
        count++;
        list.prepend(
          h(
            "li",
            { "data-event": e.event_id },
            clock(e.timestamp),
            " ",
            h("span", { class: `type type-${e.type}` }, e.type),
            " ",
            h("span", { class: "mono" }, e.rcpt_to ?? ""),
            " ",
            e.message_id ? h("span", { class: "mono sub clip" }, e.message_id) : null,
          ),
        );
        while (list.children.length > TAIL_MAX) list.lastElementChild?.remove();
        state.textContent = `Live. ${count} new ${count === 1 ? "event" : "events"} so far.`;
      },
    });
  });
  return h("div", { class: "tail-box" }, h("div", { class: "title-row" }, state, button), list);
}
