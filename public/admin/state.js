// @ts-check
// What the page remembers: AppState, one object for the whole page that main.js creates and
// hands to the router and every view; and ViewContext, what one view gets for its lifetime.
// (The API key is in sessionStorage: see session in api.js.)
import { sayError } from "./status.js";
/** @import { Api } from "./api.js" */

/**
 * @typedef {object} AppState
 * @property {AbortController | null} view aborts the view on screen when another replaces it
 * @property {boolean} firstRender the first view leaves focus where the browser put it
 * @property {boolean} carryOver the status message outlives the next navigation, once
 * @property {{ id: string, secret: string } | null} justCreated the new webhook's secret, shown once on its page
 */

/**
 * @typedef {object} ViewContext
 * @property {AbortSignal} signal aborted when the view is left
 * @property {URLSearchParams} params the query part of the hash (#/events?type=open)
 * @property {string | null} id the webhook id in the route, if any
 * @property {(ms: number, fn: () => Promise<void>) => void} every runs fn every ms while the view is on screen and the tab visible
 * @property {() => void} render draws the current route again (after signing in)
 */

/** @typedef {(state: AppState, api: Api, ctx: ViewContext) => Promise<void> | void} View */

/** @returns {AppState} */
export function createState() {
  return { view: null, firstRender: true, carryOver: false, justCreated: null };
}

/**
 * A new view's context; aborting `controller` ends its pollers and requests.
 * @param {AbortController} controller
 * @param {Omit<ViewContext, "signal" | "every">} route
 * @returns {ViewContext}
 */
export function viewContext(controller, route) {
  const { signal } = controller;
  return {
    ...route,
    signal,
    every(ms, fn) {
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      const tick = async () => {
        if (signal.aborted) return;
        if (!document.hidden) await fn().catch((err) => sayError(err, signal));
        if (!signal.aborted) timer = setTimeout(tick, ms);
      };
      timer = setTimeout(tick, ms);
      signal.addEventListener("abort", () => clearTimeout(timer));
    },
  };
}
