// @ts-check
// The hash router: #/path?query → a view drawn into #main. Navigating aborts the view on
// screen (its requests, pollers and live tail) before the next one starts.
import { errorMessage, isAbort, session } from "./api.js";
import { $, h, main, must } from "./dom.js";
import { viewContext } from "./state.js";
import { say } from "./status.js";
import { heading } from "./widgets.js";
import { domainsView } from "./views/domains.js";
import { eventsView } from "./views/events.js";
import { signInView } from "./views/sign-in.js";
import { sourcesView } from "./views/sources.js";
import { trackingView } from "./views/tracking.js";
import { webhookDetailView } from "./views/webhook-detail.js";
import { webhookFormView } from "./views/webhook-form.js";
import { webhooksView } from "./views/webhooks.js";
/** @import { Api } from "./api.js" */
/** @import { AppState, View } from "./state.js" */
/** @import { Kind } from "./status.js" */

/** @type {[RegExp, View][]} The first group, if any, is the webhook id. */
const ROUTES = [
  [/^\/webhooks\/?$/, webhooksView],
  [/^\/webhooks\/new$/, webhookFormView],
  [/^\/webhooks\/([^/]+)\/edit$/, webhookFormView],
  [/^\/webhooks\/([^/]+)$/, webhookDetailView],
  [/^\/events$/, eventsView],
  [/^\/sources$/, sourcesView],
  [/^\/domains$/, domainsView],
  [/^\/tracking$/, trackingView],
];

/** @type {View} */
const notFoundView = () => {
  main().append(heading("Not found"), h("p", {}, "No such page. ", h("a", { href: "#/webhooks" }, "Go to the webhooks.")));
};

/** "#/events?type=open" → { path: "/events", params: type=open }; no hash is the webhooks. @param {string} hash */
export function parseHash(hash) {
  const raw = hash.replace(/^#/, "") || "/webhooks";
  const [path = "", query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

/** A malformed %-escape is kept as typed: the view then says there is no such webhook. @param {string} s */
function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** @param {AppState} state @param {Api} api */
export function createRouter(state, api) {
  async function render() {
    state.view?.abort();
    const { path, params } = parseHash(location.hash);
    const signedIn = Boolean(session.key);
    must("#nav").hidden = !signedIn;
    must("#sign-out").hidden = !signedIn;
    const route = ROUTES.find(([re]) => re.test(path));
    const id = route ? path.match(route[0])?.[1] : undefined;
    const controller = new AbortController();
    state.view = controller;
    const ctx = viewContext(controller, { params, id: id === undefined ? null : decode(id), render });
    if (!signedIn) {
      signInView(state, api, ctx);
      return;
    }
    const section = path.split("/")[1];
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a instanceof HTMLElement && a.dataset.nav === section) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const version = must("#version");
    if (!version.textContent)
      api.status().then(
        (s) => (version.textContent = `hookd ${s.version}`),
        () => {},
      );
    main().replaceChildren();
    try {
      await (route ? route[1] : notFoundView)(state, api, ctx);
    } catch (err) {
      if (ctx.signal.aborted || isAbort(err)) return;
      main().replaceChildren(h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", { class: "error" }, errorMessage(err)));
    }
    if (ctx.signal.aborted) return;
    // Move focus to the new view's heading so keyboard and screen reader users land on it.
    if (!state.firstRender) $("h1", main())?.focus();
    state.firstRender = false;
  }

  /** Forget the key and show the sign-in form. @param {string} [message] @param {Kind} [kind] */
  function signOut(message = "Signed out.", kind = "info") {
    session.key = null;
    say(message, kind);
    render();
  }

  return { render, signOut };
}
