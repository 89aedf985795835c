// @ts-check
// Create a webhook (POST) or edit one (PATCH of the changed fields); the API's validation
// errors are shown next to the fields they name.
import { h, main } from "../dom.js";
import { clearErrors, field, group, showErrors } from "../forms.js";
import { say, sayNext } from "../status.js";
import { heading } from "../widgets.js";
import { changes, readControls, webhookControls } from "./webhook-controls.js";
/** @import { View } from "../state.js" */
/** @import { Controls } from "./webhook-controls.js" */
/** @import { Webhook } from "../types" */

/** @type {View} */
export async function webhookFormView(state, api, ctx) {
  const id = ctx.id;
  const schema = await api.formSchema();
  const hook = id ? await api.webhook(id, ctx.signal) : null;
  const editing = Boolean(hook);
  const f = webhookControls(schema, hook);
  const submit = h("button", { type: "submit", class: "primary" }, editing ? "Save changes" : "Create webhook");
  const form = formLayout(f, hook, submit);

  // Editing sends only what changed (PATCH), and null for what was cleared.
  const initial = readControls(f, editing);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = editing ? changes(initial, readControls(f, editing)) : readControls(f, editing);
    if (editing && !Object.keys(body).length) {
      say("Nothing changed.", "info");
      return;
    }
    submit.disabled = true;
    say(editing ? "Saving…" : body.verification === "test_post" ? "Sending a test POST to the target…" : "Creating…");
    try {
      if (id && editing) {
        await api.updateWebhook(id, body, ctx.signal);
        sayNext(state, "Saved.");
        location.hash = `#/webhooks/${encodeURIComponent(id)}`;
      } else {
        const r = await api.createWebhook(body, ctx.signal);
        state.justCreated = { id: r.id, secret: r.secret };
        sayNext(state, `Created the webhook "${body.name}".`);
        location.hash = `#/webhooks/${encodeURIComponent(r.id)}`;
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });

  const h1 = heading(hook ? `Edit ${hook.name}` : "New webhook");
  h1.id = "form-title";
  main().append(
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/webhooks" }, "Webhooks"),
      " / ",
      hook ? [h("a", { href: `#/webhooks/${encodeURIComponent(hook.id)}` }, hook.name), " / "] : null,
    ),
    h1,
    form,
  );
}

/**
 * The form around the controls: labels, hints, error slots; credentials shown for the chosen auth type.
 * @param {Controls} f
 * @param {Webhook | null} hook
 * @param {HTMLButtonElement} submit
 */
function formLayout(f, hook, submit) {
  const keep = hook ? "Stored; leave empty to keep it." : undefined;
  const syncEvents = () => {
    for (const c of f.types) c.disabled = f.all.checked;
  };
  f.all.addEventListener("change", syncEvents);
  syncEvents();

  const authToken = field("auth_token", "Token", f.auth_token, keep ?? "Sent in the X-MessageSystems-Webhook-Token header.");
  const authBasic = group("auth_credentials", "Basic auth", [
    field("auth_credentials.username", "Username", f.username),
    field(
      "auth_credentials.password",
      "Password",
      f.password,
      hook ? "Stored; to change the username or password, type the password." : undefined,
    ),
  ]);
  const authOauth = group("auth_request_details", "OAuth2 client credentials", [
    field("auth_request_details.url", "Token URL", f.oauth_url),
    field("auth_request_details.body.client_id", "Client ID", f.client_id),
    field(
      "auth_request_details.body.client_secret",
      "Client secret",
      f.client_secret,
      hook ? "Stored; to change the client, type the secret." : undefined,
    ),
  ]);
  const syncAuth = () => {
    authToken.hidden = f.auth_type.value !== "token";
    authBasic.hidden = f.auth_type.value !== "basic";
    authOauth.hidden = f.auth_type.value !== "oauth2";
  };
  f.auth_type.addEventListener("change", syncAuth);
  syncAuth();

  return h(
    "form",
    { class: "form card", novalidate: true, "aria-labelledby": "form-title" },
    h("div", { class: "form-errors", hidden: true, role: "group", "aria-label": "Problems" }),
    field("name", "Name", f.name),
    field(
      "target",
      "Target URL",
      f.target,
      "hookd POSTs each batch here. With test_post verification it must answer 2xx to a sample batch before the webhook is saved.",
    ),
    group("events", "Events", [
      h("label", { class: "check strong" }, f.all, "All event types"),
      h(
        "div",
        { class: "checks" },
        f.types.map((c) => h("label", { class: "check" }, c, c.value)),
      ),
    ]),
    h(
      "div",
      { class: "field", "data-field": "active" },
      h("label", { class: "check" }, f.active, "Active"),
      h("p", { class: "hint" }, "Unchecked pauses delivery; events wait in the queue."),
      h("p", { class: "field-error", id: "f-active-error", hidden: true }),
    ),
    h(
      "div",
      { class: "row" },
      field("format", "Format", f.format, "hookd's own body, or SendGrid's or SparkPost's."),
      field("verification", "Verification", f.verification),
      field("auth_type", "Authentication", f.auth_type),
    ),
    authToken,
    authBasic,
    authOauth,
    h(
      "details",
      { class: "advanced", open: Boolean(hook && (hook.custom_headers || hook.batch_max_events || hook.batch_max_wait || hook.filter)) },
      h("summary", {}, "Batching, headers and filters"),
      h(
        "div",
        { class: "row" },
        field("batch_max_events", "Max events per batch", f.batch_max_events, "Empty: the config default."),
        field("batch_max_wait", "Max wait", f.batch_max_wait, 'Like "500ms" or "5s". Empty: the config default.'),
      ),
      field(
        "custom_headers",
        "Custom headers",
        f.headers,
        "One per line, Name: value. Values shown as ******** are stored secrets: retype them if you change this list.",
      ),
      group(
        "filter",
        "Only events that match",
        [
          field("filter.sender_domains", "Sender domains", f.sender_domains),
          field("filter.rcpt_domains", "Recipient domains", f.rcpt_domains),
          field("filter.hosts", "Hosts", f.hosts),
          h(
            "div",
            { class: "field", "data-field": "filter.machine" },
            h("label", { class: "check" }, f.noMachine, "Leave out machine opens and clicks"),
            h("p", { class: "hint" }, "Prefetches, image proxies (Gmail's too) and link scanners: events marked machine: true."),
          ),
        ],
        "Comma-separated; every list given must match.",
      ),
    ),
    h(
      "div",
      { class: "actions" },
      submit,
      h("a", { class: "button quiet", href: hook ? `#/webhooks/${encodeURIComponent(hook.id)}` : "#/webhooks" }, "Cancel"),
    ),
  );
}
