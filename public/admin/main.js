// @ts-check
// hookd's admin page. Native ES modules: no framework, no build step, nothing from a CDN
// (mail hosts are often offline). It talks only to the REST API under /api/v1, with the API
// key kept in sessionStorage, and renders everything from the API as text, never as HTML.
//
// main.js wires the page: state.js (AppState, one object; ViewContext) → router.js (hash →
// view) → views/*.js, one per view, each a function of (state, api, ctx); api.js (one method
// per API call; sse.js reads the live tail), dom.js (h(), swap()), format.js (pure text),
// widgets.js (times, badges, sparklines), forms.js (fields and the API's errors on them),
// status.js (the live region). Types of the API's JSON: types.d.ts (for tsc only).
import { createApi } from "./api.js";
import { main, must } from "./dom.js";
import { createRouter } from "./router.js";
import { createState } from "./state.js";
import { say } from "./status.js";

const state = createState();
const api = createApi(() => router.signOut("Your API key was not accepted any more. Sign in again.", "error"));
const router = createRouter(state, api);

must("#sign-out").addEventListener("click", () => router.signOut());
// The hash is the router's, so the skip link moves focus itself instead of navigating.
must(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  main().focus();
});
window.addEventListener("hashchange", () => {
  if (!state.carryOver) say("");
  state.carryOver = false;
  router.render();
});
router.render();
