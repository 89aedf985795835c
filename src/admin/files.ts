// Every file of the admin page, by the URL path it is served at. Each is imported as text so
// that `bun build --compile` embeds it in the binary: nothing is read from disk at run time.
// A file added under public/ must be listed here; test/admin/static.test.ts fails until it is.
// (public/docs.html is /docs, served by src/api/app.ts; public/**/*.d.ts are types for tsc.)
import indexHtml from "../../public/index.html" with { type: "text" };
import adminCss from "../../public/admin.css" with { type: "text" };
import apiJs from "../../public/admin/api.js" with { type: "text" };
import domJs from "../../public/admin/dom.js" with { type: "text" };
import formatJs from "../../public/admin/format.js" with { type: "text" };
import formsJs from "../../public/admin/forms.js" with { type: "text" };
import mainJs from "../../public/admin/main.js" with { type: "text" };
import routerJs from "../../public/admin/router.js" with { type: "text" };
import sseJs from "../../public/admin/sse.js" with { type: "text" };
import stateJs from "../../public/admin/state.js" with { type: "text" };
import statusJs from "../../public/admin/status.js" with { type: "text" };
import widgetsJs from "../../public/admin/widgets.js" with { type: "text" };
import batchesJs from "../../public/admin/views/batches.js" with { type: "text" };
import domainsJs from "../../public/admin/views/domains.js" with { type: "text" };
import eventsJs from "../../public/admin/views/events.js" with { type: "text" };
import liveTailJs from "../../public/admin/views/live-tail.js" with { type: "text" };
import signInJs from "../../public/admin/views/sign-in.js" with { type: "text" };
import sourcesJs from "../../public/admin/views/sources.js" with { type: "text" };
import trackingJs from "../../public/admin/views/tracking.js" with { type: "text" };
import webhookControlsJs from "../../public/admin/views/webhook-controls.js" with { type: "text" };
import webhookDetailJs from "../../public/admin/views/webhook-detail.js" with { type: "text" };
import webhookFormJs from "../../public/admin/views/webhook-form.js" with { type: "text" };
import webhookPanelsJs from "../../public/admin/views/webhook-panels.js" with { type: "text" };
import webhooksJs from "../../public/admin/views/webhooks.js" with { type: "text" };

export const PAGE_FILES: Readonly<Record<string, string>> = {
  "/": indexHtml,
  "/admin.css": adminCss,
  "/admin/api.js": apiJs,
  "/admin/dom.js": domJs,
  "/admin/format.js": formatJs,
  "/admin/forms.js": formsJs,
  "/admin/main.js": mainJs,
  "/admin/router.js": routerJs,
  "/admin/sse.js": sseJs,
  "/admin/state.js": stateJs,
  "/admin/status.js": statusJs,
  "/admin/widgets.js": widgetsJs,
  "/admin/views/batches.js": batchesJs,
  "/admin/views/domains.js": domainsJs,
  "/admin/views/events.js": eventsJs,
  "/admin/views/live-tail.js": liveTailJs,
  "/admin/views/sign-in.js": signInJs,
  "/admin/views/sources.js": sourcesJs,
  "/admin/views/tracking.js": trackingJs,
  "/admin/views/webhook-controls.js": webhookControlsJs,
  "/admin/views/webhook-detail.js": webhookDetailJs,
  "/admin/views/webhook-form.js": webhookFormJs,
  "/admin/views/webhook-panels.js": webhookPanelsJs,
  "/admin/views/webhooks.js": webhooksJs,
};
