// adminRoutes() in-process: the page and its two assets, embedded, cacheable, locked down.
import { describe, expect, test } from "bun:test";
import { adminRoutes } from "../../src/admin/static.ts";

const app = adminRoutes();

describe("adminRoutes", () => {
  test("GET / is the page, with a CSP that allows nothing but its own origin", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/admin.js">');
    expect(html).toContain('<link rel="stylesheet" href="/admin.css">');
    // Works offline: nothing fetched from anywhere else.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  test.each([
    ["/admin.js", "text/javascript; charset=utf-8", "EventSource cannot send the Authorization header"],
    ["/admin.css", "text/css; charset=utf-8", "prefers-color-scheme"],
  ])("GET %s is served with its type and revalidated by ETag", async (path, type, snippet) => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toContain(snippet);
    const etag = res.headers.get("etag")!;
    const again = await app.request(path, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  test("the script only reaches the API of its own origin and never renders HTML from data", async () => {
    const js = await (await app.request("/admin.js")).text();
    // Absolute URLs only as the SVG namespace and a placeholder; requests go to /api/v1.
    const urls = [...js.matchAll(/https?:\/\/[^\s"'`)]+/g)].map((m) => m[0]);
    expect(urls.filter((u) => u !== "http://www.w3.org/2000/svg" && !u.startsWith("https://hooks.example.com/"))).toEqual([]);
    expect(js.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/g)).toBeNull();
    expect(js.match(/localStorage/g)).toBeNull();
  });

  test("other paths are not the admin page's", async () => {
    expect((await app.request("/admin.map")).status).toBe(404);
  });
});
