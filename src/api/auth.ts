import type { MiddlewareHandler } from "hono";
import type { ApiKeyInfo, Scope, Store } from "../store/driver.ts";
import { ApiError } from "./errors.ts";

export type AuthEnv = { Variables: { apiKey: ApiKeyInfo } };

/** `Authorization: Bearer <key>`, or the bare key as SparkPost's clients send it. */
export function keyFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  const h = header.trim();
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (m) return m[1]!;
  return /^\S+$/.test(h) ? h : null;
}

export function authenticate(store: Store, now: () => number): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const key = keyFromHeader(c.req.header("authorization"));
    if (!key) {
      throw new ApiError(
        { message: "missing API key: send Authorization: Bearer <key>", field: "Authorization", code: "unauthorized" },
        { "WWW-Authenticate": 'Bearer realm="hookd"' },
      );
    }
    const info = await store.keys.find(key, now());
    if (!info) {
      throw new ApiError(
        { message: "invalid or revoked API key", field: "Authorization", code: "unauthorized" },
        { "WWW-Authenticate": 'Bearer realm="hookd", error="invalid_token"' },
      );
    }
    c.set("apiKey", info);
    await next();
  };
}

export function requireScope(scope: Scope): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const key = c.get("apiKey");
    if (!key.scopes.includes(scope)) {
      throw new ApiError({ message: `this API key lacks the scope "${scope}"`, code: "forbidden" });
    }
    await next();
  };
}
