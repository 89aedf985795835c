import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { completeVerification } from "../../webhooks/verification.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ErrorEnvelope } from "../errors.ts";

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
        200: {
          description: "Verified; events flow from now on",
          content: { "application/json": { schema: z.object({ results: z.object({ id: z.string(), status: z.literal("active") }) }) } },
        },
        400: {
          description: "Values do not match, or the TXT record is not there yet",
          content: { "application/json": { schema: ErrorEnvelope } },
        },
        404: { description: "No such webhook", content: { "application/json": { schema: ErrorEnvelope } } },
      },
    }),
    async (c) => {
      const w = await completeVerification(deps, c.req.valid("json"));
      return c.json({ results: { id: w.id, status: "active" as const } }, 200);
    },
  );
  return app;
}
