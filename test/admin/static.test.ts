// adminRoutes() in-process: the page and every file it loads, embedded, cacheable, locked down.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { PAGE_FILES } from "../../src/admin/files.ts";
import { adminRoutes, contentType } from "../../src/admin/static.ts";

const app = adminRoutes();
const PUBLIC = path.resolve(import.meta.dir, "../../public");

/** Every file under public/ that the browser loads, by the URL path it must be served at. */
function publicFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of fs.readdirSync(PUBLIC, { recursive: true, encoding: "utf8" })) {
    const file = path.join(PUBLIC, rel);
    if (!fs.statSync(file).isFile()) continue;
    const url = `/${rel.split(path.sep).join("/")}`;
    // /docs is the API's (src/api/app.ts, test/admin/docs.test.ts); .d.ts files are types for tsc.
    if (url === "/docs.html" || url.endsWith(".d.ts")) continue;
    out.set(url === "/index.html" ? "/" : url, fs.readFileSync(file, "utf8"));
  }
  return out;
}

const scripts = Object.keys(PAGE_FILES).filter((p) => p.endsWith(".js"));

/** The relative imports of a module, resolved against its URL path. */
function importsOf(url: string, js: string): string[] {
  return [...js.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)";?$/gm)].map(
    (m) => new URL(m[1]!, `http://x${url}`).pathname,
  );
}

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
    expect(html).toContain('<script type="module" src="/admin/main.js">');
    expect(html).toContain('<link rel="stylesheet" href="/admin.css">');
    // Works offline: nothing fetched from anywhere else.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  test("every file under public/ the browser loads is embedded and served at its path, as it is on disk", async () => {
    const files = publicFiles();
    expect(files.size).toBeGreaterThan(10);
    expect([...files.keys()].sort()).toEqual(Object.keys(PAGE_FILES).sort());
    for (const [url, text] of files) {
      const res = await app.request(url);
      expect(res.status, url).toBe(200);
      expect(await res.text(), url).toBe(text);
    }
  });

  test.each([
    ["/admin/main.js", "text/javascript; charset=utf-8"],
    ["/admin/views/webhook-detail.js", "text/javascript; charset=utf-8"],
    ["/admin.css", "text/css; charset=utf-8"],
  ])("GET %s is served with its type and revalidated by ETag", async (url, type) => {
    const res = await app.request(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const etag = res.headers.get("etag")!;
    const again = await app.request(url, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  test("every module is served as JavaScript, imports only served modules and is reached from main.js", async () => {
    const reached = new Set(["/admin/main.js"]);
    const queue = ["/admin/main.js"];
    for (let url = queue.shift(); url; url = queue.shift()) {
      const res = await app.request(url);
      expect(res.headers.get("content-type"), url).toBe("text/javascript; charset=utf-8");
      for (const dep of importsOf(url, await res.text())) {
        expect(scripts, `${url} imports ${dep}`).toContain(dep);
        if (!reached.has(dep)) reached.add(dep) && queue.push(dep);
      }
    }
    expect([...reached].sort()).toEqual(scripts.sort());
  });

  test("the scripts only reach the API of their own origin and never render HTML from data", () => {
    for (const url of scripts) {
      const js = PAGE_FILES[url]!;
      expect(js.startsWith("// @ts-check\n"), `${url} is type-checked`).toBe(true);
      // Absolute URLs only as the SVG namespace and a placeholder; requests go to /api/v1.
      const urls = [...js.matchAll(/https?:\/\/[^\s"'`)]+/g)].map((m) => m[0]);
      expect(
        urls.filter((u) => u !== "http://www.w3.org/2000/svg" && !u.startsWith("https://hooks.example.com/")),
        url,
      ).toEqual([]);
      expect(js.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/g), url).toBeNull();
      expect(js.match(/localStorage/g), url).toBeNull();
      // The key goes in the Authorization header, which EventSource cannot send (sse.js).
      expect(js, url).not.toContain("new EventSource");
    }
  });

  test("other paths are not the admin page's", async () => {
    for (const url of [
      "/admin.map",
      "/admin.js",
      "/admin/types.d.ts",
      "/admin/nope.js",
      "/public/admin/main.js",
      "/index.html",
      "/admin/",
    ]) {
      expect((await app.request(url)).status, url).toBe(404);
    }
  });

  test("a file type the server has no Content-Type for is refused when the routes are built", () => {
    expect(contentType("/admin/x.js")).toBe("text/javascript; charset=utf-8");
    expect(() => contentType("/admin/logo.png")).toThrow('no content type for ".png"');
  });
});
