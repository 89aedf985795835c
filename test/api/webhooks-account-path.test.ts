import { describe, expect, test } from "bun:test";
import { testResources } from "../helpers/hookd.ts";

// SparkPost clients list webhooks at /accounts/current/webhooks: the same list as
// /webhooks, documented like it.

const t = testResources();

describe("GET /accounts/current/webhooks", () => {
  test("lists what GET /webhooks lists, and is in the OpenAPI document with the same answer", async () => {
    const app = await t.app();
    const created = await app.api("POST", "/webhooks", {
      body: { name: "w", target: "https://a.example/", events: ["*"], verification: "none" },
    });
    expect(created.status).toBe(201);
    const a = await app.api("GET", "/webhooks");
    const b = await app.api("GET", "/accounts/current/webhooks");
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual(await a.json());

    type Doc = { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    const doc = (await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as Doc;
    const account = doc.paths["/api/v1/accounts/current/webhooks"]?.get;
    expect(account).toBeDefined();
    expect(account!.responses).toEqual(doc.paths["/api/v1/webhooks"]!.get!.responses);
  });
});
