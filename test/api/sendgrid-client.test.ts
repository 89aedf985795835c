// SendGrid's Event Webhook API at SendGrid's paths, driven the way SendGrid's documents drive
// it: the page's JavaScript (@sendgrid/client, unmodified, with baseUrl pointed at hookd)
// and its curl, then every Event Webhook path, each answer checked against the schemas of
// SendGrid's OpenAPI document (test/fixtures/sendgrid/tsg_webhooks_v3.json).
//
// @sendgrid/client builds `${baseUrl}${url}` (axios baseURL) with the snippet's url
// "/v3/user/…", so baseUrl is hookd's origin without /v3; setApiKey() resets baseUrl to
// api.sendgrid.com, so the baseUrl line goes after it. Authorization: "Bearer " + the key.
import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import type { ClientRequest } from "@sendgrid/client/src/request";
import { BUN, childEnv, REPO_ROOT, testResources, type TestApp } from "../helpers/hookd.ts";
import { contract, expectContract, requestExample, sg } from "./sendgrid-helpers.ts";

type ClientResponse = { statusCode: number; body: unknown };
type SendGridClient = {
  setApiKey(key: string): void;
  setDefaultRequest(key: "baseUrl", value: string): unknown;
  request(req: ClientRequest): Promise<[ClientResponse, unknown]>;
};
const { Client } = createRequire(import.meta.url)("@sendgrid/client") as { Client: new () => SendGridClient };

const SETTINGS = "/v3/user/webhooks/event/settings";
const P = {
  create: "/v3/user/webhooks/event/settings",
  all: "/v3/user/webhooks/event/settings/all",
  one: "/v3/user/webhooks/event/settings/{id}",
  signed: "/v3/user/webhooks/event/settings/signed/{id}",
  test: "/v3/user/webhooks/event/test",
};

const res = testResources();

function clientFor(app: TestApp): SendGridClient {
  const client = new Client();
  // setApiKey warns that a key without SendGrid's "SG." prefix may be wrong; hookd's never has it.
  const warn = console.warn;
  console.warn = () => {};
  try {
    client.setApiKey(app.key);
  } finally {
    console.warn = warn;
  }
  client.setDefaultRequest("baseUrl", app.url);
  return client;
}

/** A client call's answer as a fetch Response, so expectContract can read it. */
async function call(client: SendGridClient, req: ClientRequest): Promise<Response> {
  try {
    const [r, body] = await client.request(req);
    return new Response(r.statusCode === 204 || body === "" ? null : JSON.stringify(body), { status: r.statusCode });
  } catch (err) {
    const e = err as { code?: number; response?: { body: unknown } };
    if (typeof e.code !== "number" || !e.response) throw err;
    return new Response(JSON.stringify(e.response.body), { status: e.code });
  }
}

// The document's create page, JavaScript tab: require, setApiKey, the example body, request,
// log status and body. One line is added (baseUrl → hookd); the example body comes in
// through the environment with its urls pointed at the test's receiver, and the body is
// logged as JSON so the test can read it.
const SNIPPET = `
const client = require("@sendgrid/client");
client.setApiKey(process.env.SENDGRID_API_KEY);
client.setDefaultRequest("baseUrl", process.env.HOOKD_URL);

const data = JSON.parse(process.env.EXAMPLE_BODY);

const request = {
  url: \`/v3/user/webhooks/event/settings\`,
  method: "POST",
  body: data,
};

client
  .request(request)
  .then(([response, body]) => {
    console.log(response.statusCode);
    console.log(JSON.stringify(response.body));
  })
  .catch((error) => {
    console.error(error);
  });
`;

describe("SendGrid's own snippets against hookd", () => {
  test("the JavaScript snippet (@sendgrid/client) creates the webhook, 201 with SendGrid's body", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const example = requestExample(P.create, "post", "Request With OAuth Configured");
    example.url = `${rx.url}/engagement`;
    example.oauth_token_url = `${rx.url}/oauth/token`;
    const proc = Bun.spawn([BUN, "-e", SNIPPET], {
      cwd: REPO_ROOT,
      env: childEnv({ SENDGRID_API_KEY: app.key, HOOKD_URL: app.url, EXAMPLE_BODY: JSON.stringify(example) }),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(0);
    const [status, json] = out.trim().split("\n");
    expect({ status, err: err.replace(/API key does not start with "SG."\.\n?/, "") }).toEqual({ status: "201", err: "" });
    const created = await expectContract(new Response(json, { status: 201 }), "POST", P.create);
    const { oauth_client_secret: _secret, ...rest } = example;
    expect(created).toMatchObject({ ...rest, friendly_name: "Engagement Webhook" });
    expect(JSON.stringify(created)).not.toContain(String(example.oauth_client_secret));
    // SendGrid's create does not call the URL.
    expect(rx.requests).toHaveLength(0);
  });

  test("the curl snippet creates a webhook", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const example = requestExample(P.create, "post", "Request Without OAuth Configured");
    example.url = `${rx.url}/curl`;
    const proc = Bun.spawn(
      [
        "curl",
        "--silent",
        "--show-error",
        "--write-out",
        "\n%{http_code}",
        "--request",
        "POST",
        "--url",
        `${app.url}${SETTINGS}`,
        "--header",
        `Authorization: Bearer ${app.key}`,
        "--header",
        "Content-Type: application/json",
        "--data",
        JSON.stringify(example),
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const at = out.lastIndexOf("\n");
    expect(out.slice(at + 1)).toBe("201");
    const created = (await expectContract(new Response(out.slice(0, at), { status: 201 }), "POST", P.create)) as Record<string, unknown>;
    expect(created).toMatchObject({ ...example, id: expect.any(String) });
    expect(created.oauth_client_id).toBeUndefined();
  });
});

describe("every Event Webhook path through @sendgrid/client, checked against the document", () => {
  test("create, get all, get one (and the oldest), patch, signed get/patch, test, delete", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const client = clientFor(app);

    const first = requestExample(P.create, "post", "Request Without OAuth Configured");
    first.url = `${rx.url}/first`;
    const a = (await expectContract(await call(client, { url: SETTINGS, method: "POST", body: first }), "POST", P.create)) as Record<
      string,
      string
    >;
    const second = {
      url: `${rx.url}/second`,
      delivered: true,
      bounce: true,
      friendly_name: "Delivery Webhook",
      oauth_client_id: "cid-1",
      oauth_client_secret: "s3cret-1",
      oauth_token_url: `${rx.url}/token`,
    };
    const b = (await expectContract(await call(client, { url: SETTINGS, method: "POST", body: second }), "POST", P.create)) as Record<
      string,
      unknown
    >;
    expect(b).toMatchObject({
      enabled: false,
      delivered: true,
      bounce: true,
      open: false,
      oauth_client_id: "cid-1",
      oauth_token_url: `${rx.url}/token`,
    });
    expect(b.created_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const all = (await expectContract(await call(client, { url: `${SETTINGS}/all`, method: "GET" }), "GET", P.all)) as {
      max_allowed: number;
      webhooks: Record<string, unknown>[];
    };
    expect(all.max_allowed).toBeGreaterThan(all.webhooks.length);
    expect(all.webhooks.map((w) => w.id)).toEqual([a.id, b.id]);
    expect(all.webhooks.every((w) => w.public_key === undefined)).toBe(true);

    const one = (await expectContract(await call(client, { url: `${SETTINGS}/${b.id}`, method: "GET" }), "GET", P.one)) as Record<
      string,
      unknown
    >;
    expect(one).toMatchObject({ id: b.id, url: second.url, friendly_name: "Delivery Webhook" });
    expect(one.account_status_change).toBeUndefined();
    const withInclude = (await expectContract(
      await call(client, { url: `${SETTINGS}/${b.id}`, method: "GET", qs: { include: "account_status_change" } }),
      "GET",
      P.one,
    )) as Record<string, unknown>;
    expect(withInclude.account_status_change).toBe(false);
    // No id: the oldest (the document's "If you do not pass a webhook ID").
    const oldest = (await expectContract(await call(client, { url: SETTINGS, method: "GET" }), "GET", P.one)) as Record<string, unknown>;
    expect(oldest.id).toBe(a.id);

    const patched = (await expectContract(
      await call(client, {
        url: `${SETTINGS}/${b.id}`,
        method: "PATCH",
        body: { url: second.url, enabled: true, open: true, bounce: false, friendly_name: "Renamed", account_status_change: true },
        qs: { include: "account_status_change" },
      }),
      "PATCH",
      P.one,
    )) as Record<string, unknown>;
    expect(patched).toMatchObject({
      id: b.id,
      enabled: true,
      open: true,
      bounce: false,
      delivered: true,
      friendly_name: "Renamed",
      account_status_change: true,
      oauth_client_id: "cid-1",
    });
    expect(Date.parse(String(patched.updated_date))).toBeGreaterThanOrEqual(Date.parse(String(b.updated_date)));

    const unsigned = (await expectContract(
      await call(client, { url: `${SETTINGS}/signed/${b.id}`, method: "GET" }),
      "GET",
      P.signed,
    )) as Record<string, string>;
    expect(unsigned).toEqual({ id: String(b.id), public_key: "" });
    const signedOn = (await expectContract(
      await call(client, { url: `${SETTINGS}/signed/${b.id}`, method: "PATCH", body: { enabled: true } }),
      "PATCH",
      P.signed,
    )) as Record<string, string>;
    expect(signedOn.public_key).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await expectContract(await call(client, { url: `${SETTINGS}/signed/${b.id}`, method: "GET" }), "GET", P.signed)).toEqual(
      signedOn,
    );
    const listedSigned = (await expectContract(await call(client, { url: `${SETTINGS}/all`, method: "GET" }), "GET", P.all)) as {
      webhooks: Record<string, unknown>[];
    };
    expect(listedSigned.webhooks.find((w) => w.id === b.id)?.public_key).toBe(signedOn.public_key);
    const oneSigned = (await expectContract(await call(client, { url: `${SETTINGS}/${b.id}`, method: "GET" }), "GET", P.one)) as Record<
      string,
      unknown
    >;
    expect(oneSigned.public_key).toBe(signedOn.public_key);
    const signedOff = await expectContract(
      await call(client, { url: `${SETTINGS}/signed/${b.id}`, method: "PATCH", body: { enabled: false } }),
      "PATCH",
      P.signed,
    );
    expect(signedOff).toEqual({ id: String(b.id), public_key: "" });

    const before = rx.requests.length;
    expect(
      await expectContract(
        await call(client, { url: "/v3/user/webhooks/event/test", method: "POST", body: { url: `${rx.url}/test-target` } }),
        "POST",
        P.test,
      ),
    ).toBeNull();
    expect(rx.requests.length).toBe(before + 1);
    expect(rx.requests.at(-1)!.path).toBe("/test-target");

    expect(await expectContract(await call(client, { url: `${SETTINGS}/${a.id}`, method: "DELETE" }), "DELETE", P.one)).toBeNull();
    const gone = await call(client, { url: `${SETTINGS}/${a.id}`, method: "GET" });
    expect(gone.status).toBe(404);
    expect(await expectContract(gone, "GET", P.one)).toEqual({ errors: [{ field: "id", message: "Invalid id provided." }] });
    const after = (await expectContract(await sg(app, "GET", `${SETTINGS}/all`), "GET", P.all)) as { webhooks: { id: string }[] };
    expect(after.webhooks.map((w) => w.id)).toEqual([String(b.id)]);
  });

  test("every Event Webhook operation of the document is served (none answers hookd's 404)", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const created = (await (await sg(app, "POST", SETTINGS, { url: `${rx.url}/x` })).json()) as { id: string };
    const bodies: Record<string, unknown> = {
      [`post ${P.create}`]: { url: `${rx.url}/y` },
      [`patch ${P.one}`]: { url: `${rx.url}/x` },
      [`patch ${P.signed}`]: { enabled: true },
      [`post ${P.test}`]: { url: `${rx.url}/t` },
    };
    const operations = Object.entries(contract.paths)
      .filter(([path]) => path.startsWith("/v3/user/webhooks/event/"))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method })));
    expect(operations).toHaveLength(8);
    // DELETE last: it removes the webhook the others use.
    operations.sort((x, y) => Number(x.method === "delete") - Number(y.method === "delete"));
    for (const { path, method } of operations) {
      const r = await sg(app, method.toUpperCase(), path.replace("{id}", created.id), bodies[`${method} ${path}`]);
      expect(`${method} ${path}: ${r.status}`).toMatch(/: 20[014]$/);
      await expectContract(r, method, path);
    }
  });
});
