import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { DomainRow } from "../../store/driver.ts";
import { addDomain, listDomains, removeDomain, txtRecord, verifyDomain } from "../../webhooks/domains.ts";
import { requireScope, type AuthEnv } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { ErrorEnvelope } from "../errors.ts";
import { DomainCreate, DomainParam, DomainView } from "../schemas/domain.ts";
import { iso } from "./common.ts";

// Verified domains: HTTP only; webhooks/domains.ts decides.

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const error = (description: string) => json(ErrorEnvelope, description);
const errors = {
  400: error("Invalid request, or (verify) the TXT record was not found"),
  401: error("Missing or invalid API key"),
  403: error("API key lacks the scope"),
};
const notFound = { 404: error("No such domain") };

export function domainView(d: DomainRow): DomainView {
  return {
    domain: d.domain,
    status: d.verifiedAt === null ? "pending" : "verified",
    txt_record: txtRecord(d),
    created: iso(d.createdAt)!,
    verified: iso(d.verifiedAt),
    last_checked: iso(d.lastCheckedAt),
  };
}

export function domainRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<AuthEnv>();
  const read = requireScope("webhooks:read");
  const write = requireScope("webhooks:write");

  app.openapi(
    createRoute({
      method: "post",
      path: "/domains",
      tags: ["domains"],
      summary: "Add a domain to verify by a DNS TXT record",
      description:
        "Publish the returned txt_record on the domain's own name, then POST …/verify (or wait for the periodic check). Once verified, every dns_txt webhook whose target is on the domain or a subdomain is active without a TXT record of its own.",
      middleware: [write],
      request: { body: { content: { "application/json": { schema: DomainCreate } }, required: true } },
      responses: {
        201: json(z.object({ results: DomainView }), "Added, pending verification"),
        ...errors,
        409: error("The domain is listed already"),
      },
    }),
    async (c) => c.json({ results: domainView(await addDomain(deps, c.req.valid("json").domain)) }, 201),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/domains",
      tags: ["domains"],
      summary: "List domains with their TXT record and status",
      middleware: [read],
      responses: { 200: json(z.object({ results: z.array(DomainView) }), "The domains, by name"), ...errors },
    }),
    async (c) => c.json({ results: (await listDomains(deps)).map(domainView) }, 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/domains/{domain}/verify",
      tags: ["domains"],
      summary: "Look the domain's TXT record up now",
      description:
        "Found: the domain and the pending dns_txt webhooks on it are verified. Not found: 400 verification_failed saying what DNS answered.",
      middleware: [write],
      request: { params: DomainParam },
      responses: { 200: json(z.object({ results: DomainView }), "Verified"), ...errors, ...notFound },
    }),
    async (c) => c.json({ results: domainView(await verifyDomain(deps, c.req.valid("param").domain)) }, 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/domains/{domain}",
      tags: ["domains"],
      summary: "Remove a domain",
      description: "Webhooks it verified stay verified.",
      middleware: [write],
      request: { params: DomainParam },
      responses: { 204: { description: "Removed" }, ...errors, ...notFound },
    }),
    async (c) => {
      await removeDomain(deps, c.req.valid("param").domain);
      return c.body(null, 204);
    },
  );

  return app;
}
