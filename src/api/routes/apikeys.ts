import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AuthEnv } from "../auth.ts";
import { ErrorEnvelope } from "../errors.ts";

import { iso } from "./common.ts";

/** Which key is this and what may it do: lets a client (the admin page) offer only what works. */
export function apiKeyRoutes() {
  const app = new OpenAPIHono<AuthEnv>();
  app.openapi(
    createRoute({
      method: "get",
      path: "/apikeys/current",
      tags: ["api keys"],
      summary: "The API key making this request: its name, prefix and scopes (never the key)",
      responses: {
        200: {
          description: "The key",
          content: {
            "application/json": {
              schema: z.object({
                results: z.object({
                  id: z.string(),
                  name: z.string(),
                  prefix: z.string(),
                  scopes: z.array(z.string()),
                  created: z.string(),
                  last_used: z.string().nullable(),
                }),
              }),
            },
          },
        },
        401: { description: "Missing or invalid API key", content: { "application/json": { schema: ErrorEnvelope } } },
      },
    }),
    (c) => {
      const k = c.get("apiKey");
      return c.json(
        {
          results: { id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, created: iso(k.createdAt)!, last_used: iso(k.lastUsedAt) },
        },
        200,
      );
    },
  );
  return app;
}
