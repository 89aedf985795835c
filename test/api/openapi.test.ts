import { describe, expect, test } from "bun:test";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

type Schema = { properties?: Record<string, unknown>; required?: string[]; $ref?: string };
type Operation = { requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, unknown> };
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
};

describe("API documents and probes", () => {
  test("GET /api/v1/openapi.json is OpenAPI 3.1 with the webhooks and events operations, no key needed", async () => {
    const app = await t.app();
    const res = await fetch(`${app.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toContain("hookd");
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);

    const ops = (path: string) => Object.keys(doc.paths[path] ?? {}).sort();
    expect(ops("/api/v1/webhooks")).toEqual(["get", "post"]);
    expect(ops("/api/v1/webhooks/{id}")).toEqual(["delete", "get", "patch", "put"]);
    expect(ops("/api/v1/events")).toEqual(["get", "post"]);

    const create = doc.paths["/api/v1/webhooks"]!.post!;
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "403"]));
    expect(create.requestBody!.content["application/json"]!.schema.$ref).toBe("#/components/schemas/WebhookCreate");
    expect(Object.keys(doc.paths["/api/v1/webhooks/{id}"]!.get!.responses)).toContain("404");
    expect(Object.keys(doc.paths["/api/v1/events"]!.post!.responses)).toEqual(expect.arrayContaining(["200", "400", "413"]));
    expect(doc.components.securitySchemes).toHaveProperty("apiKey");
  });

  test("the WebhookCreate schema lists every webhook field; name, target and events are required", async () => {
    const app = await t.app();
    const doc = (await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as Doc;
    const schema = doc.components.schemas.WebhookCreate!;
    expect(Object.keys(schema.properties!).sort()).toEqual(
      [
        "name",
        "target",
        "events",
        "active",
        "auth_type",
        "auth_token",
        "auth_credentials",
        "auth_request_details",
        "custom_headers",
        "format",
        "verification",
        "batch_max_events",
        "batch_max_bytes",
        "batch_max_wait",
        "filter",
      ].sort(),
    );
    expect([...(schema.required ?? [])].sort()).toEqual(["events", "name", "target"]);
    expect(doc.components.schemas).toHaveProperty("Errors");
    // Every event type has a documented schema.
    for (const type of [
      "injection",
      "delivery",
      "delay",
      "bounce",
      "expired",
      "policy_rejection",
      "open",
      "click",
      "list_unsubscribe",
      "spam_complaint",
      "custom",
    ]) {
      expect(doc.components.schemas).toHaveProperty(`event_${type}`);
    }
  });

  test("GET /docs is an HTML page that loads the OpenAPI document", async () => {
    const app = await t.app();
    const res = await fetch(`${app.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html.toLowerCase()).toStartWith("<!doctype html>");
    expect(html).toContain("/api/v1/openapi.json");
  });

  test("GET /healthz → 200 with status ok and the version, no key needed", async () => {
    const app = await t.app();
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; version: string };
    expect(body.status).toBe("ok");
    const pkg = (await Bun.file(new URL("../../package.json", import.meta.url)).json()) as { version: string };
    expect(body.version).toBe(pkg.version);
  });
});
