import { describe, expect, test } from "bun:test";
import { startReceiver } from "../helpers/receiver.ts";
import { testResources } from "../helpers/hookd.ts";

// Stored credentials do not follow a webhook to another origin: a key that may edit
// webhooks must not be able to point one at itself and collect secrets GET redacts.

const t = testResources();

describe("moving a webhook to another origin", () => {
  test("needs its credentials again; the same origin does not", async () => {
    const app = await t.app();
    const a = await startReceiver();
    const b = await startReceiver();
    try {
      const created = await app.api("POST", "/webhooks", {
        body: {
          name: "w",
          target: `${a.url}/one`,
          events: ["*"],
          verification: "none",
          auth_type: "token",
          auth_token: "s3cret-token",
          custom_headers: { "X-Api-Key": "k3y" },
        },
      });
      expect(created.status).toBe(201);
      const { id } = ((await created.json()) as { results: { id: string } }).results;

      const sneaky = await app.api("PATCH", `/webhooks/${id}`, { body: { target: `${b.url}/collect` } });
      expect(sneaky.status).toBe(400);
      const fields = ((await sneaky.json()) as { errors: { field: string; code: string }[] }).errors.map((e) => `${e.field}:${e.code}`);
      expect(fields.sort()).toEqual(["auth_token:required", "custom_headers:required"]);

      const placeholder = await app.api("PATCH", `/webhooks/${id}`, {
        body: { target: `${b.url}/collect`, auth_token: "********", custom_headers: { "X-Api-Key": "k3y" } },
      });
      expect(placeholder.status).toBe(400);

      expect((await app.api("PATCH", `/webhooks/${id}`, { body: { target: `${a.url}/two` } })).status).toBe(200);
      const moved = await app.api("PATCH", `/webhooks/${id}`, {
        body: { target: `${b.url}/new`, auth_token: "new-token", custom_headers: null },
      });
      expect(moved.status).toBe(200);
    } finally {
      a.stop();
      b.stop();
    }
  });
});
