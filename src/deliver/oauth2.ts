import type { AuthRequestDetails } from "../store/driver.ts";
import { guardedPost, type GuardOptions } from "./guarded-post.ts";

// OAuth2 client credentials for receivers that want a bearer token (SparkPost's
// auth_type "oauth2"). One token per webhook and credentials, reused until shortly before
// it expires; a 401 from the receiver drops it so the next request fetches a fresh one.

export type TokenResult = { ok: true; token: string } | { ok: false; failureCode: string; detail: string };

// Renew a little early so a token does not expire between fetch and use.
const EXPIRY_SKEW_MS = 30_000;
const DEFAULT_LIFETIME_S = 3600;

type Cached = { token: string; expiresAt: number };

export class OAuth2Tokens {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<TokenResult>>();
  /** Token endpoint requests made; tests and metrics read it. */
  fetches = 0;

  constructor(
    private readonly opts: {
      timeoutMs: () => number;
      allowPrivateTargets: boolean;
      version: string;
      now?: () => number;
      guard?: GuardOptions;
    },
  ) {}

  private key(webhookId: string, d: AuthRequestDetails) {
    return `${webhookId}\n${d.url}\n${d.body.client_id}\n${d.body.client_secret}`;
  }

  async get(webhookId: string, d: AuthRequestDetails): Promise<TokenResult> {
    const now = (this.opts.now ?? Date.now)();
    const k = this.key(webhookId, d);
    const hit = this.cache.get(k);
    if (hit && hit.expiresAt > now) return { ok: true, token: hit.token };
    // Concurrent batches of one webhook share one token request.
    let p = this.inflight.get(k);
    if (!p) {
      p = this.fetchToken(k, d).finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return p;
  }

  invalidate(webhookId: string, d: AuthRequestDetails) {
    this.cache.delete(this.key(webhookId, d));
  }

  private async fetchToken(k: string, d: AuthRequestDetails): Promise<TokenResult> {
    this.fetches++;
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: d.body.client_id,
      client_secret: d.body.client_secret,
    });
    const res = await guardedPost(
      {
        url: d.url,
        body: new TextEncoder().encode(form.toString()),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          "user-agent": `hookd/${this.opts.version}`,
        },
        timeoutMs: this.opts.timeoutMs(),
        keepResponseBytes: 64 * 1024,
        wholeBody: true,
      },
      this.opts.allowPrivateTargets,
      this.opts.guard,
    );
    if (res.kind === "timeout") return { ok: false, failureCode: "oauth2_timeout", detail: "the token endpoint did not answer in time" };
    if (res.kind === "network") return { ok: false, failureCode: "oauth2_unreachable", detail: res.error };
    if (res.kind === "private_target") return { ok: false, failureCode: "oauth2_unreachable", detail: res.reason };
    if (res.status < 200 || res.status > 299) {
      return { ok: false, failureCode: `oauth2_http_${res.status}`, detail: `the token endpoint answered HTTP ${res.status}` };
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.bodySnippet || "{}");
    } catch {
      return { ok: false, failureCode: "oauth2_bad_response", detail: "the token endpoint's answer is not JSON" };
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      return { ok: false, failureCode: "oauth2_bad_response", detail: "the token endpoint's answer has no access_token" };
    }
    const lifetimeS = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
    const now = (this.opts.now ?? Date.now)();
    this.cache.set(k, { token: body.access_token, expiresAt: now + Math.max(1000, lifetimeS * 1000 - EXPIRY_SKEW_MS) });
    return { ok: true, token: body.access_token };
  }
}
