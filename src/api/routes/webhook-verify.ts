import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { dnsTxtPublished, handshakeMatches } from "../../deliver/verify.ts";
import { getWebhook, updateWebhook } from "../../store/webhooks.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ApiError, ErrorEnvelope } from "../errors.ts";

const VerifyBody = z
  .strictObject({
    id: z.string().min(1).max(64),
    callbackKey: z.string().min(1).max(256).optional().meta({ description: "From the handshake POST (handshake verification)." }),
    secretToken: z.string().min(1).max(256).optional().meta({ description: "From the handshake POST (handshake verification)." }),
  })
  .meta({ id: "VerifyRequest" });

export function webhookVerifyRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  app.openapi(
    createRoute({
      method: "post",
      path: "/webhooks/verify",
      tags: ["webhooks"],
      summary: "Complete a webhook's verification",
      description:
        "handshake: send back the id, callbackKey and secretToken hookd POSTed to the target. dns_txt: send the id to check the TXT record now instead of waiting for the next periodic check. Wrong values change nothing.",
      middleware: [requireScope("webhooks:write")],
      request: { body: { content: { "application/json": { schema: VerifyBody } }, required: true } },
      responses: {
        200: { description: "Verified; events flow from now on", content: { "application/json": { schema: z.object({ results: z.object({ id: z.string(), status: z.literal("active") }) }) } } },
        400: { description: "Values do not match, or the TXT record is not there yet", content: { "application/json": { schema: ErrorEnvelope } } },
        404: { description: "No such webhook", content: { "application/json": { schema: ErrorEnvelope } } },
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const w = getWebhook(deps.store.db, body.id);
      if (!w) throw new ApiError({ message: `no webhook with id "${body.id}"`, field: "id", code: "not_found" });
      if (w.verifiedAt !== null || w.verification === "test_post" || w.verification === "none") {
        throw new ApiError({ message: `webhook ${w.id} is not waiting for verification`, field: "id", code: "conflict" });
      }
      const state = w.verificationState ?? {};
      if (w.verification === "handshake") {
        if (!body.callbackKey || !body.secretToken) {
          throw new ApiError({ message: "callbackKey and secretToken are required for a handshake", field: body.callbackKey ? "secretToken" : "callbackKey", code: "required" });
        }
        if (!handshakeMatches(state, { callbackKey: body.callbackKey, secretToken: body.secretToken })) {
          deps.log.warn("handshake verification refused: values do not match", { webhook_id: w.id });
          throw new ApiError({ message: "callbackKey or secretToken does not match what hookd sent", code: "verification_failed" });
        }
      } else if (!state.dnsToken || !(await dnsTxtPublished(w.target, state.dnsToken, deps.config.verification.dns_servers))) {
        throw new ApiError({ message: "the TXT record hookd-verification=… is not published on the target's domain yet", field: "target", code: "verification_failed" });
      }
      const now = deps.now();
      updateWebhook(deps.store.db, w.id, { verifiedAt: now, verificationState: null, updatedAt: now });
      deps.log.info("webhook verified", { webhook_id: w.id, verification: w.verification });
      deps.notifyEvents();
      return c.json({ results: { id: w.id, status: "active" as const } }, 200);
    },
  );
  return app;
}
