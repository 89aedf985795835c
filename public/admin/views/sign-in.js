// @ts-check
// Sign in: the API key is tried against GET /status before the page keeps it.
import { ApiError, errorMessage, session } from "../api.js";
import { h, main } from "../dom.js";
import { say } from "../status.js";
import { setTitle } from "../widgets.js";
/** @import { View } from "../state.js" */

/** @type {View} */
export function signInView(state, api, ctx) {
  setTitle("Sign in");
  const input = h("input", {
    id: "api-key",
    name: "key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-hint",
  });
  const error = h("p", { id: "api-key-error", class: "field-error", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    h("h1", { tabindex: "-1" }, "Sign in"),
    h(
      "div",
      { class: "field" },
      h("label", { for: "api-key" }, "API key"),
      h(
        "p",
        { id: "api-key-hint", class: "hint" },
        "The admin key hookd printed at first start, or one from ",
        h("code", {}, "hookd apikey create"),
        ". It stays in this tab only and is forgotten when you close it.",
      ),
      input,
      error,
    ),
    submit,
  );
  /** @param {string} message */
  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "api-key-hint api-key-error");
    input.focus();
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) return fail("Paste an API key.");
    submit.disabled = true;
    try {
      await api.status(ctx.signal, key);
    } catch (err) {
      // 403: a narrower key (events only, say) is still a key; the views say what it may not do.
      if (!(err instanceof ApiError) || err.status !== 403) {
        submit.disabled = false;
        return fail(
          err instanceof ApiError && err.status === 401 ? "That key was not accepted: it is unknown or revoked." : errorMessage(err),
        );
      }
    }
    session.key = key;
    say("Signed in.", "ok");
    state.firstRender = false;
    ctx.render();
  });
  main().replaceChildren(form);
  input.focus();
}
