// @ts-check
// Form fields with labels, hints and error slots, and the API's errors shown next to the
// fields they name (plus a summary that links to them, read first by screen readers).
import { ApiError, errorMessage } from "./api.js";
import { $, h } from "./dom.js";
import { say } from "./status.js";
/** @import { Child } from "./dom.js" */

/** @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control */

/**
 * A labelled control; `name` is the API field whose errors it shows.
 * @param {string} name
 * @param {string} label
 * @param {Control} input
 * @param {string} [hint]
 */
export function field(name, label, input, hint) {
  const id = input.id || `f-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
  input.id = id;
  const hintEl = hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: id }, label),
    input,
    hintEl,
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
  );
}

/**
 * A group of controls (checkboxes, credential pairs) with a legend and one error slot.
 * @param {string} name
 * @param {string} legend
 * @param {Child[]} controls
 * @param {string} [hint]
 */
export function group(name, legend, controls, hint) {
  const id = `g-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;
  return h(
    "fieldset",
    { class: "field group", "data-field": name, id, "aria-describedby": hint ? `${id}-hint` : undefined },
    h("legend", {}, legend),
    hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null,
    controls,
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
  );
}

/** @param {HTMLFormElement} form */
export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) {
    if (el instanceof HTMLElement) el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.setAttribute(
      "aria-describedby",
      (el.getAttribute("aria-describedby") ?? "")
        .split(" ")
        .filter((x) => x && !x.endsWith("-error"))
        .join(" "),
    );
  }
  const summary = $(".form-errors", form);
  if (summary) {
    summary.hidden = true;
    summary.replaceChildren();
  }
}

/**
 * The field element an error names: exact match, else the longest enclosing one (events[2] → events).
 * @param {HTMLFormElement} form
 * @param {string | undefined} name
 * @returns {HTMLElement | null}
 */
function fieldFor(form, name) {
  if (!name) return null;
  /** @type {HTMLElement | null} */
  let best = null;
  for (const el of form.querySelectorAll("[data-field]")) {
    const f = el instanceof HTMLElement ? el.dataset.field : undefined;
    if (!f || !(name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`))) continue;
    if (!best || f.length > (best.dataset.field ?? "").length) best = /** @type {HTMLElement} */ (el);
  }
  return best;
}

/**
 * Show an ApiError's items next to their fields and in a summary that links to them.
 * @param {HTMLFormElement} form
 * @param {unknown} err
 */
export function showErrors(form, err) {
  const items = err instanceof ApiError ? err.errors : [{ message: errorMessage(err), field: undefined }];
  const summary = $(".form-errors", form);
  /** @type {HTMLLIElement[]} */
  const links = [];
  /** @type {HTMLElement | null} */
  let firstControl = null;
  for (const item of items) {
    const wrap = fieldFor(form, item.field);
    const wrapField = wrap?.dataset.field ?? "";
    // Messages start with the field path ("target: expected …"); next to the field it is noise.
    let text = item.message.replace(/^query parameter /, "");
    if (item.field && text.startsWith(`${item.field}: `)) text = text.slice(item.field.length + 2);
    const control = wrap ? $("input:not([disabled]), select, textarea", wrap) : null;
    // Within a field, say which part: "Host: is set by hookd" for custom_headers.Host.
    const suffix = wrap && item.field && item.field !== wrapField ? `${item.field.slice(wrapField.length).replace(/^\./, "")}: ` : "";
    if (wrap) {
      const slot = [...wrap.querySelectorAll(".field-error")].pop();
      if (slot instanceof HTMLElement) {
        slot.append(h("span", {}, `${suffix}${text}`));
        slot.hidden = false;
        const target = wrap.matches("fieldset") ? wrap : control;
        if (target) {
          target.setAttribute("aria-invalid", "true");
          const ids = new Set((target.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
          ids.add(slot.id);
          target.setAttribute("aria-describedby", [...ids].join(" "));
        }
      }
      firstControl ??= control;
    }
    const label = wrap ? $(":scope > legend, :scope > label", wrap)?.textContent : null;
    const line = label ? `${label}: ${suffix}${text}` : item.message;
    links.push(
      control
        ? h("li", {}, h("a", { href: `#${control.id}`, onclick: (e) => (e.preventDefault(), control.focus()) }, line))
        : h("li", {}, line),
    );
  }
  if (summary) {
    summary.replaceChildren(
      h("h2", {}, items.length === 1 ? "There is a problem" : `There are ${items.length} problems`),
      h("ul", {}, links),
    );
    summary.hidden = false;
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  } else firstControl?.focus();
  say(items.length === 1 ? "Not saved: one problem to fix." : `Not saved: ${items.length} problems to fix.`, "error");
}
