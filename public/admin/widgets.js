// @ts-check
// Small pieces every view uses: times, status badges, sparklines, the view's heading.
import { h, svg } from "./dom.js";
import { ago, num } from "./format.js";

/**
 * A <time> saying "3 min ago", the full local time on hover and to assistive technology.
 * @param {string | null | undefined} iso
 * @param {string} [empty] what to say when there is no time
 */
export function when(iso, empty = "never") {
  if (!iso) return h("span", { class: "muted" }, empty);
  const full = new Date(iso).toLocaleString();
  return h("time", { datetime: iso, title: full, "aria-label": `${ago(iso)}, ${full}` }, ago(iso));
}

/** The time of day, with the date when it is not today. @param {string} iso */
export function clock(iso) {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return h("time", { datetime: iso, title: d.toLocaleString() }, today ? t : `${d.toLocaleDateString()} ${t}`);
}

/** @type {Record<string, string>} */
const STATUS_TEXT = { active: "active", failing: "failing", inactive: "paused", pending_verification: "awaiting verification" };

/** @param {string} state @param {string} [text] */
export function badge(state, text = STATUS_TEXT[state] ?? state) {
  return h("span", { class: `badge badge-${state}` }, text);
}

/**
 * An SVG sparkline of per-minute (or per-`unit`) counts, described in words for screen readers.
 * @param {number[]} values
 * @param {{ width?: number, height?: number, what?: string, unit?: string }} [opts]
 */
export function sparkline(values, { width = 120, height = 28, what = "Events delivered per minute", unit = "minute" } = {}) {
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  const peak = Math.max(0, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  /** @param {number} v */
  const y = (v) => (height - 2 - (v / max) * (height - 4)).toFixed(1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`).join(" ");
  const label = `${what}, last ${values.length} ${unit}s: ${num(total)} in all, at most ${num(peak)} in a${unit === "hour" ? "n" : ""} ${unit}`;
  return svg(
    "svg",
    { class: "spark", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label, preserveAspectRatio: "none" },
    svg("title", {}, label),
    svg("polygon", { class: "spark-area", points: `0,${height} ${points} ${width},${height}` }),
    svg("polyline", { class: "spark-line", points }),
  );
}

/** @param {string} text */
export function setTitle(text) {
  document.title = `${text} · hookd`;
}

/** The view's <h1>, focusable so navigation can move focus to it; also the tab's title. @param {string} text */
export function heading(text) {
  setTitle(text);
  return h("h1", { tabindex: "-1" }, text);
}
