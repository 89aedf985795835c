// @ts-check
// The page's one polite live region (#status): what an action did, or what went wrong.
import { errorMessage, isAbort } from "./api.js";
import { must } from "./dom.js";
/** @import { AppState } from "./state.js" */

/** @typedef {"info" | "ok" | "error"} Kind */

/** @param {string} message @param {Kind} [kind] */
export function say(message, kind = "info") {
  const el = must("#status");
  el.textContent = message;
  el.dataset.kind = kind;
}

/**
 * Say something about an action that also navigates ("Created …"): the next view keeps it.
 * @param {AppState} state
 * @param {string} message
 * @param {Kind} [kind]
 */
export function sayNext(state, message, kind = "ok") {
  say(message, kind);
  state.carryOver = true;
}

/**
 * Say why something failed, unless it failed because the view was left.
 * @param {unknown} err
 * @param {AbortSignal} [signal] the view's
 */
export function sayError(err, signal) {
  if (signal?.aborted || isAbort(err)) return;
  say(errorMessage(err), "error");
}
