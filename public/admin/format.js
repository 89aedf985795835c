// @ts-check
// Numbers, sizes, times and lists as the page writes them. Pure: no DOM, no clock but `now`.

/** @param {unknown} n */
export const num = (n) => (typeof n === "number" ? n.toLocaleString() : "—");

/** 2097152 → "2.0 MB". @param {unknown} n */
export function bytes(n) {
  if (typeof n !== "number") return "—";
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "3 min ago", "in 2 h", "just now". @param {string} iso @param {number} [now] */
export function ago(iso, now = Date.now()) {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < -5) return `in ${duration(-s)}`;
  if (s < 5) return "just now";
  return `${duration(s)} ago`;
}

/** Seconds in the largest whole unit: "45 s", "3 min", "2 h", "5 d". @param {number} s */
export function duration(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/**
 * datetime-local value (local wall time) → RFC 3339 UTC, or undefined when empty. What does
 * not parse goes to the API as typed, so its error names the field.
 * @param {string} local
 */
export function toIso(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

/** RFC 3339 → a datetime-local value in local wall time. @param {string} iso */
export function toLocalInput(iso) {
  const d = new Date(iso);
  /** @param {number} n */
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "a.com, b.com c.com" → ["a.com", "b.com", "c.com"]. @param {string} s */
export const splitList = (s) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
