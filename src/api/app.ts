import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import { z } from "zod";
import docsHtml from "../../public/docs.html" with { type: "text" };
import { adminRoutes } from "../admin/static.ts";
import { isStoreFull, isStoreUnavailable } from "../store/errors.ts";
import { authenticate, type AuthEnv } from "./auth.ts";
import { BodyBudget, bodyLimit } from "./body-limit.ts";
import { clientAddress, oncePerClient } from "./client-log.ts";
import { inlinePageCsp, noSniff } from "./security-headers.ts";
import { rateLimit } from "./rate-limit.ts";
import { sendGridRoutes } from "./sendgrid/routes.ts";
import type { ApiDeps } from "./deps.ts";
import { ApiError, listedErrors, ServiceError, zodErrors } from "./errors.ts";
import { eventRoutes } from "./routes/events.ts";
import { eventStreamRoutes } from "./routes/events-stream.ts";
import { statusRoutes } from "./routes/status.ts";
import { trackingRoutes } from "./routes/tracking.ts";
import { webhookInsightRoutes } from "./routes/webhook-insight.ts";
import { apiKeyRoutes } from "./routes/apikeys.ts";
import { catalogRoutes } from "./routes/catalog.ts";
import { domainRoutes } from "./routes/domains.ts";
import { webhookActionRoutes } from "./routes/webhook-actions.ts";
import { webhookVerifyRoutes } from "./routes/webhook-verify.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

// Imported as text so `bun build --compile` embeds it; the .html typing says HTMLBundle.
const docsPage = docsHtml as unknown as string;
const DOCS_CSP = inlinePageCsp(docsPage);

export const API_BASE = "/api/v1";
const STORE_FULL_LOG_EVERY_MS = 60_000;
// A large POST waits this long for the bodies before it to be done; about the time a
// max-size batch takes to store.
const BODY_BUDGET_WAIT_MS = 10_000;
function errorResponse(c: Context, err: ApiError) {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json({ errors: err.items }, err.status);
}

function validationHook(result: { success: boolean; error?: unknown; data?: unknown; target?: string }, c: Context) {
  if (result.success) return;
  const listed = listedErrors(zodErrors(result.error as z.ZodError, result.data));
  if (result.target === "query") for (const i of listed) i.message = i.message.replace(/^/, "query parameter ");
  return errorResponse(c, new ApiError(listed));
}

export function createApi(deps: ApiDeps) {
  // strict: false makes /webhooks and /webhooks/ the same route, as SparkPost's tutorial needs.
  const app = new OpenAPIHono<AuthEnv>({ strict: false, defaultHook: validationHook });

  app.use("*", noSniff());
  let storeFullLoggedAt = -Infinity;
  let unavailableLoggedAt = -Infinity;
  app.onError((err, c) => {
    if (err instanceof ServiceError) return errorResponse(c, ApiError.from(err));
    // The fleet's database down or restarting: nothing was done, and a retry will work once it
    // is back (the pool reconnects by itself). Logged once a minute, not once per request.
    if (isStoreUnavailable(err)) {
      if (deps.now() - unavailableLoggedAt >= STORE_FULL_LOG_EVERY_MS) {
        unavailableLoggedAt = deps.now();
        deps.log.error("the store's database cannot be reached: the API answers 503 until it is back", {
          store: deps.store.location,
          error: (err as Error).message,
        });
      }
      return errorResponse(
        c,
        new ApiError(
          { message: "the store's database cannot be reached right now; nothing was done. Retry shortly", code: "store_unavailable" },
          { "Retry-After": "5" },
        ),
      );
    }
    if (isStoreFull(err)) {
      if (deps.now() - storeFullLoggedAt >= STORE_FULL_LOG_EVERY_MS) {
        storeFullLoggedAt = deps.now();
        deps.log.error("the store's disk is full: API writes are refused with 507 until there is space", {
          store: deps.store.location,
          method: c.req.method,
          path: c.req.path,
        });
      }
      return errorResponse(
        c,
        new ApiError(
          {
            message:
              "the store is full (its disk has no space left); nothing was stored. Retry once the operator has freed space; the hookd log says where",
            code: "store_full",
          },
          { "Retry-After": "60" },
        ),
      );
    }
    if (err instanceof HTTPException) {
      const code =
        err.status === 413
          ? "payload_too_large"
          : err.status === 415
            ? "unsupported_media_type"
            : err.message.includes("JSON")
              ? "malformed_json"
              : "invalid_value";
      const message =
        code === "payload_too_large"
          ? `request body is larger than server.max_body_size (${deps.config.server.max_body_size} bytes)`
          : code === "unsupported_media_type"
            ? "send the body as JSON with Content-Type: application/json"
            : code === "malformed_json"
              ? "request body is not valid JSON"
              : err.message;
      return errorResponse(c, new ApiError({ message, code }));
    }
    // 500s are opaque to the client and fully logged.
    deps.log.error("unhandled error", {
      method: c.req.method,
      path: c.req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return errorResponse(c, new ApiError({ message: "internal error; see the hookd log", code: "internal_error" }));
  });
  app.notFound((c) => errorResponse(c, new ApiError({ message: `no route for ${c.req.method} ${c.req.path}`, code: "not_found" })));

  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/docs", (c) =>
    c.html(docsPage, 200, { "Content-Security-Policy": DOCS_CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer" }),
  );
  app.route("/", adminRoutes());
  // Unauthenticated like most exporters: hookd listens on loopback by default, and the
  // figures carry webhook ids, never targets or secrets.
  app.get("/metrics", async (c) =>
    c.body(await deps.metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An API key from `hookd apikey create` (or printed at first start). The bare key without 'Bearer ' works too.",
  });
  app.doc31(`${API_BASE}/openapi.json`, {
    openapi: "3.1.0",
    info: { title: "hookd API", version: deps.version, description: "Webhooks for the mail you send yourself." },
    security: [{ apiKey: [] }],
  });

  const api = new OpenAPIHono<AuthEnv>({ strict: false, defaultHook: validationHook });
  // Who is asking first: a body is read (and held) only for a client with a key, within its rate.
  api.use("*", authenticate(deps.store, deps.now));
  api.use("*", rateLimit(deps.config.server.rate_limit, deps.now));
  const logAborted = oncePerClient(deps.now);
  // One guard for both APIs: hookd's and SendGrid's share the body budget.
  const bodyGuard = bodyLimit({
    maxBytes: deps.config.server.max_body_size,
    timeoutMs: deps.config.server.body_timeout,
    budget: new BodyBudget(deps.config.server.max_body_size),
    budgetWaitMs: BODY_BUDGET_WAIT_MS,
    clientOf: clientAddress,
    onBodyAborted: (c, client) => {
      logAborted(client, (skipped) =>
        deps.log.warn("request body ended early or was malformed; the connection was closed", {
          client,
          method: c.req.method,
          path: c.req.path,
          ...(skipped ? { since_last_logged: skipped } : {}),
        }),
      );
    },
  });
  api.use("*", bodyGuard);
  api.route("/", apiKeyRoutes());
  api.route("/", catalogRoutes(deps));
  api.route("/", webhookVerifyRoutes(deps));
  api.route("/", webhookRoutes(deps));
  api.route("/", webhookActionRoutes(deps));
  api.route("/", domainRoutes(deps));
  api.route("/", eventStreamRoutes(deps));
  api.route("/", eventRoutes(deps));
  api.route("/", webhookInsightRoutes(deps));
  api.route("/", statusRoutes(deps));
  api.route("/", trackingRoutes(deps));
  app.route(API_BASE, api);
  app.route("/v3", sendGridRoutes(deps, bodyGuard));
  return app;
}
