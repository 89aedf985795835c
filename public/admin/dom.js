// @ts-check
// Building the page from data. Every string becomes a text node, never HTML: event fields
// come from mail logs and from anyone holding an events:write key.

/** @typedef {Node | string | number | null | undefined | false | Child[]} Child */
/** @typedef {string | number | boolean | null | undefined | ((e: Event) => void)} AttrValue */
/** @typedef {Record<string, AttrValue>} Attrs */

/**
 * h("a", { href, class, onclick, "aria-label": … }, ...children). Strings become text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...flat(children));
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  el.append(...flat(children));
  return el;
}

/** @param {Element} el @param {Attrs} attrs */
function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    // Properties, not attributes: what the control shows now, not its default.
    else if (k === "value" || k === "checked" || k === "selected") Object.assign(el, { [k]: v });
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** @param {Child[]} children @returns {(Node | string)[]} */
export function flat(children) {
  /** @type {(Node | string)[]} */
  const out = [];
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) out.push(...flat(c));
    else out.push(c instanceof Node ? c : String(c));
  }
  return out;
}

/** @param {string} sel @param {ParentNode} [root] @returns {HTMLElement | null} */
export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * One of the page's fixed elements (index.html): missing means the page itself is broken.
 * @param {string} sel
 */
export function must(sel) {
  const el = $(sel);
  if (!el) throw new Error(`the admin page has no ${sel}`);
  return el;
}

/** The region views draw into. */
export const main = () => must("#main");

/**
 * Replace a region's content without losing keyboard focus when the same control is redrawn.
 * @param {Element} el
 * @param {...Child} nodes
 */
export function swap(el, ...nodes) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && el.contains(active) ? active.dataset.key : undefined;
  el.replaceChildren(...flat(nodes));
  if (key) $(`[data-key="${CSS.escape(key)}"]`, el)?.focus();
}
