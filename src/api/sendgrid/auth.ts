import type { MiddlewareHandler } from "hono";
import type { Scope, Store } from "../../store/driver.ts";
import type { AuthEnv } from "../auth.ts";
import { SendGridError } from "./errors.ts";

// SendGrid's API authenticates with `Authorization: Bearer <key>`; here the key is a hookd
// API key with hookd's scopes. Refusals come in SendGrid's envelope, with SendGrid's words.

const BEARER = /^Bearer\s+(\S+)$/i;

export function sendGridAuth(store: Store, now: () => number): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const m = BEARER.exec(c.req.header("authorization")?.trim() ?? "");
    if (!m) {
      throw new SendGridError(401, [{ field: null, message: "authorization required: send Authorization: Bearer <hookd API key>" }], {
        "WWW-Authenticate": 'Bearer realm="hookd"',
      });
    }
    const info = await store.keys.find(m[1]!, now());
    if (!info) {
      throw new SendGridError(401, [{ field: null, message: "The provided authorization grant is invalid, expired, or revoked" }], {
        "WWW-Authenticate": 'Bearer realm="hookd", error="invalid_token"',
      });
    }
    c.set("apiKey", info);
    await next();
  };
}

export function sendGridScope(scope: Scope): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (!c.get("apiKey").scopes.includes(scope)) {
      throw new SendGridError(403, [{ field: null, message: `access forbidden: this API key lacks the scope "${scope}"` }]);
    }
    await next();
  };
}
