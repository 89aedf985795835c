// hookd with its tracking listener on 127.0.0.1:0, for the tests of test/track and the
// browser test. Links are signed for BASE ("https://t.example.com", as behind a TLS proxy)
// and fetched at the listener's real address: `local(url)` swaps the origin.
import { expect } from "bun:test";
import type { TestApp, TestConfigOverrides } from "../helpers/hookd.ts";
import { eventually } from "../helpers/eventually.ts";
import type { Receiver } from "../helpers/receiver.ts";

export const BASE = "https://t.example.com";
export const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

export type TrackedApp = TestApp & {
  /** The listener's real origin, e.g. http://127.0.0.1:41235. */
  listener: string;
  local(url: string): string;
  rewrite(body: Record<string, unknown>): Promise<{ html: string; headers: Record<string, string> }>;
  /** A GET (or other method) on the listener as a reader's browser sends it; no redirects followed. */
  hit(url: string, init?: RequestInit & { headers?: Record<string, string> }): Promise<Response>;
};

export function trackingConfig(tracking: Record<string, unknown> = {}, rest: TestConfigOverrides = {}): TestConfigOverrides {
  return {
    ...rest,
    delivery: { batch_max_wait: 0, ...rest.delivery },
    tracking: { listen: "127.0.0.1:0", base_url: BASE, fast_click: 0, rate_limit: 0, ...tracking },
  } as TestConfigOverrides;
}

export async function tracked(app: TestApp): Promise<TrackedApp> {
  const status = (await (await app.api("GET", "/status")).json()) as { results: { tracking: { up: boolean; address: string } } };
  expect(status.results.tracking.up).toBe(true);
  const listener = status.results.tracking.address;
  const local = (url: string) => {
    expect(url.startsWith(`${BASE}/`)).toBe(true);
    return listener + url.slice(BASE.length);
  };
  return Object.assign(app, {
    listener,
    local,
    async rewrite(body: Record<string, unknown>) {
      const res = await app.api("POST", "/tracking/rewrite", { body });
      const text = await res.text();
      expect(`${res.status} ${text.slice(0, 300)}`).toStartWith("200 ");
      return (JSON.parse(text) as { results: { html: string; headers: Record<string, string> } }).results;
    },
    hit(url: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
      return fetch(url.startsWith(BASE) ? local(url) : url, {
        redirect: "manual",
        ...init,
        headers: { "user-agent": FIREFOX, ...init.headers },
      });
    },
  });
}

/** The tracked links of a rewritten part, in document order, and its pixel. */
export function linksOf(html: string): { clicks: string[]; pixel: string | null } {
  const clicks = [...html.matchAll(/<a [^>]*href="([^"]+)"/g)]
    .map((m) => m[1]!.replaceAll("&amp;", "&"))
    .filter((u) => u.startsWith(`${BASE}/c/`));
  const pixel = /<img src="([^"]+\/o\/[^"]+)"/.exec(html)?.[1] ?? null;
  return { clicks, pixel };
}

export async function createWebhook(app: TestApp, r: Receiver, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await app.api("POST", "/webhooks", {
    body: { name: "track", target: `${r.url}/hook`, events: ["*"], verification: "none", ...extra },
  });
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith("201 ");
  return (JSON.parse(text) as { results: { id: string } }).results.id;
}

export type Received = Record<string, unknown> & { event_id: string; type: string };

/** Every event a receiver got, in order. */
export function received(r: Receiver): Received[] {
  return r.requests.filter((q) => q.method === "POST").flatMap((q) => q.json() as Received[]);
}

/**
 * Posts a custom "marker" event and waits until the receiver has it. Delivery keeps store
 * order, so every event stored before the marker has arrived by then: what the receiver holds
 * before the marker is all there is — no waiting to prove that nothing else came.
 */
export async function untilMarker(app: TestApp, r: Receiver, name: string): Promise<Received[]> {
  const res = await app.api("POST", "/events", { body: [{ type: "custom", custom_type: "test.marker", event_id: `marker-${name}` }] });
  expect(res.status).toBe(200);
  await eventually(() => received(r).some((e) => e.event_id === `marker-${name}`), { timeoutMs: 10_000 });
  const all = received(r);
  return all.slice(
    0,
    all.findIndex((e) => e.event_id === `marker-${name}`),
  );
}
