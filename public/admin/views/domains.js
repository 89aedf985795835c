// @ts-check
// Domains: each verified once by a DNS TXT record, after which every dns_txt webhook on it
// or a subdomain is active without a record of its own. Add one, see the record to
// publish, check it now, remove it.
import { h, main, swap } from "../dom.js";
import { clearErrors, field, showErrors } from "../forms.js";
import { say, sayError } from "../status.js";
import { badge, heading, when } from "../widgets.js";
/** @import { View } from "../state.js" */
/** @import { Domain } from "../types" */

const REFRESH_MS = 5000;

/** @type {View} */
export async function domainsView(_state, api, ctx) {
  const list = h("div", { class: "region" }, h("p", { class: "muted" }, "Loading…"));
  const input = h("input", {
    name: "domain",
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "example.com",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Add domain");
  const form = h(
    "form",
    { class: "form inline-form", novalidate: true },
    h("div", { class: "form-errors", hidden: true }),
    field("domain", "Domain", input, "Its subdomains are covered too. hookd shows the TXT record to publish on it."),
    submit,
  );
  main().append(
    heading("Domains"),
    h(
      "p",
      { class: "hint" },
      "A webhook with ",
      h("code", {}, "dns_txt"),
      " verification on a verified domain, or on a subdomain of one, is active at once. ",
      "Pending domains are looked up again periodically; “Verify now” looks now.",
    ),
    h("section", { "aria-labelledby": "h-add-domain" }, h("h2", { id: "h-add-domain" }, "Add a domain"), form),
    h("section", { "aria-labelledby": "h-domains" }, h("h2", { id: "h-domains" }, "Domains"), list),
  );

  const load = async () => {
    const domains = await api.domains(ctx.signal);
    if (ctx.signal.aborted) return;
    swap(list, domains.length ? domainTable(domains) : h("div", { class: "empty" }, h("p", {}, "No domains yet.")));
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      const d = await api.addDomain(input.value.trim(), ctx.signal);
      say(`Added ${d.domain}. Publish its TXT record, then verify it.`, "ok");
      input.value = "";
      await load();
    } catch (err) {
      if (!ctx.signal.aborted) showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });

  /** @param {Domain} d @param {HTMLButtonElement} button */
  async function verify(d, button) {
    button.disabled = true;
    try {
      await api.verifyDomain(d.domain, ctx.signal);
      say(`${d.domain} is verified. Its dns_txt webhooks are active.`, "ok");
      await load();
    } catch (err) {
      sayError(err, ctx.signal);
      await load().catch(() => {});
    } finally {
      button.disabled = false;
    }
  }

  /** @param {Domain} d */
  async function remove(d) {
    if (!confirm(`Remove the domain ${d.domain}? Webhooks it verified stay active.`)) return;
    try {
      await api.deleteDomain(d.domain, ctx.signal);
      say(`Removed ${d.domain}.`, "ok");
      await load();
    } catch (err) {
      sayError(err, ctx.signal);
    }
  }

  /** @param {Domain[]} domains */
  function domainTable(domains) {
    return h(
      "table",
      { class: "table cards domains" },
      h("caption", { class: "sr-only" }, "Domains with their TXT record and status"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Domain", "Status", "TXT record", "Last checked", h("span", { class: "sr-only" }, "Actions")].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        domains.map((d) =>
          h(
            "tr",
            { "data-domain": d.domain, "data-status": d.status },
            h("th", { scope: "row", "data-label": "Domain" }, h("span", { class: "mono" }, d.domain)),
            h(
              "td",
              { "data-label": "Status" },
              badge(d.status === "verified" ? "active" : "pending", d.status),
              d.verified ? h("div", { class: "sub" }, "since ", when(d.verified)) : null,
            ),
            h(
              "td",
              { "data-label": "TXT record" },
              h("div", { class: "sub" }, "TXT on ", h("code", {}, d.txt_record.name)),
              h("code", { class: "secret txt-value" }, d.txt_record.value),
              " ",
              copyButton(d.txt_record.value, `the TXT record of ${d.domain}`),
            ),
            h("td", { "data-label": "Last checked" }, when(d.last_checked)),
            h(
              "td",
              { class: "cell-action" },
              d.status === "pending"
                ? h(
                    "button",
                    {
                      type: "button",
                      class: "small",
                      "data-key": `verify-${d.domain}`,
                      "aria-label": `Verify ${d.domain} now`,
                      onclick: (e) => verify(d, /** @type {HTMLButtonElement} */ (e.currentTarget)),
                    },
                    "Verify now",
                  )
                : null,
              " ",
              h("button", { type: "button", class: "small quiet", "aria-label": `Remove ${d.domain}`, onclick: () => remove(d) }, "Remove"),
            ),
          ),
        ),
      ),
    );
  }

  await load();
  ctx.every(REFRESH_MS, load);
}

/** @param {string} text @param {string} what */
function copyButton(text, what) {
  return h(
    "button",
    {
      type: "button",
      class: "small quiet",
      "aria-label": `Copy ${what}`,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          say(`Copied ${what}.`, "ok");
        } catch {
          say("Select and copy the value by hand (the clipboard is not available here).", "info");
        }
      },
    },
    "Copy",
  );
}
