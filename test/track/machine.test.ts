import { describe, expect, test } from "bun:test";
import { classifyRequest, MACHINE_RULES, type RequestFacts } from "../../src/track/machine.ts";
import type { TokenKind } from "../../src/track/tokens.ts";

const ISSUED = 1_780_000_000;
const LATER = (ISSUED + 3600) * 1000; // an hour after the mail was tracked

function facts(kind: TokenKind, headers: Record<string, string> = {}, over: Partial<RequestFacts> = {}): RequestFacts {
  const h = new Headers(headers);
  return { kind, method: "GET", header: (n) => h.get(n), issuedAt: ISSUED, now: LATER, ...over };
}

const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
const THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0";
const CUBOT = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36";

describe("people are not machines", () => {
  test.each([CHROME, IPHONE_MAIL, OUTLOOK, THUNDERBIRD, CUBOT])("%s", (ua) => {
    expect(classifyRequest(facts("open", { "user-agent": ua }))).toEqual({ machine: false });
    expect(classifyRequest(facts("click", { "user-agent": ua }))).toEqual({ machine: false });
  });
});

describe("machines, with the rule that caught them", () => {
  test.each([
    ["HEAD", facts("click", { "user-agent": CHROME }, { method: "HEAD" }), "head"],
    ["Sec-Purpose: prefetch", facts("click", { "user-agent": CHROME, "sec-purpose": "prefetch;prerender" }), "prefetch"],
    ["Purpose: prefetch", facts("open", { "user-agent": CHROME, purpose: "prefetch" }), "prefetch"],
    ["X-Purpose: preview (Safari)", facts("click", { "user-agent": CHROME, "x-purpose": "preview" }), "prefetch"],
    ["X-Moz: prefetch (Firefox)", facts("click", { "user-agent": CHROME, "x-moz": "prefetch" }), "prefetch"],
    ["no User-Agent", facts("open"), "no_user_agent"],
    ["an empty User-Agent", facts("click", { "user-agent": " " }), "no_user_agent"],
    ["Apple Mail Privacy Protection", facts("open", { "user-agent": "Mozilla/5.0" }), "apple_privacy_proxy"],
    [
      "Gmail's image proxy",
      facts("open", { "user-agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)" }),
      "gmail_image_proxy",
    ],
    [
      "Yahoo's image proxy",
      facts("open", { "user-agent": "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html" }),
      "yahoo_mail_proxy",
    ],
    ["Barracuda", facts("click", { "user-agent": "Barracuda Sentinel (EE)" }), "security_scanner"],
    ["Mimecast", facts("click", { "user-agent": "Mimecast-Link-Protect" }), "security_scanner"],
    ["Proofpoint", facts("open", { "user-agent": "Proofpoint URL Defense" }), "security_scanner"],
    ["Office link check", facts("click", { "user-agent": "Microsoft Office Existence Discovery" }), "microsoft_scanner"],
    [
      "Bing preview",
      facts("click", { "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) BingPreview/1.0b" }),
      "microsoft_scanner",
    ],
    ["Slack unfurl", facts("click", { "user-agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" }), "link_preview"],
    ["WhatsApp", facts("click", { "user-agent": "WhatsApp/2.23.20.0 A" }), "link_preview"],
    [
      "headless Chrome",
      facts("click", { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36" }),
      "headless_browser",
    ],
    ["curl", facts("click", { "user-agent": "curl/8.5.0" }), "http_library"],
    ["python-requests", facts("click", { "user-agent": "python-requests/2.32.3" }), "http_library"],
    ["Googlebot", facts("click", { "user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" }), "bot"],
    [
      "a bot that says so",
      facts("open", { "user-agent": "Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots" }),
      "bot",
    ],
    ["a click 3 s after tracking", facts("click", { "user-agent": CHROME }, { now: (ISSUED + 3) * 1000 }), "fast_click"],
  ])("%s", (_, f, reason) => {
    expect(classifyRequest(f)).toEqual({ machine: true, reason });
  });
});

describe("scope of the rules", () => {
  test("image-proxy rules are about opens; an HTTP library opening an image may be an Android mail app", () => {
    expect(classifyRequest(facts("click", { "user-agent": "Mozilla/5.0" }))).toEqual({ machine: false });
    expect(classifyRequest(facts("open", { "user-agent": "okhttp/4.12.0" }))).toEqual({ machine: false });
    expect(classifyRequest(facts("click", { "user-agent": "okhttp/4.12.0" }))).toEqual({ machine: true, reason: "http_library" });
  });

  test("fast clicks: only clicks, the threshold is an option, 0 turns it off, a clock behind the token counts as fast", () => {
    const soon = { now: (ISSUED + 30) * 1000 };
    expect(classifyRequest(facts("click", { "user-agent": CHROME }, soon))).toEqual({ machine: false });
    expect(classifyRequest(facts("click", { "user-agent": CHROME }, soon), { fastClickSeconds: 60 })).toEqual({
      machine: true,
      reason: "fast_click",
    });
    expect(classifyRequest(facts("click", { "user-agent": CHROME }, { now: ISSUED * 1000 }), { fastClickSeconds: 0 })).toEqual({
      machine: false,
    });
    expect(classifyRequest(facts("open", { "user-agent": CHROME }, { now: ISSUED * 1000 }))).toEqual({ machine: false });
    expect(classifyRequest(facts("click", { "user-agent": CHROME }, { now: (ISSUED - 5) * 1000 })).reason).toBe("fast_click");
  });

  test("a one-click unsubscribe is never a machine's: the provider POSTs it for the reader", () => {
    expect(classifyRequest(facts("unsubscribe", { "user-agent": "Google-Unsubscribe" }, { method: "POST", now: ISSUED * 1000 }))).toEqual({
      machine: false,
    });
  });

  test("the table is data: a row added extends it, the first match names the reason", () => {
    const rules = [{ reason: "acme_scanner", userAgent: /AcmeScan/ }, ...MACHINE_RULES];
    expect(classifyRequest(facts("click", { "user-agent": "AcmeScan/1.0 curl/8" }), { rules })).toEqual({
      machine: true,
      reason: "acme_scanner",
    });
    expect(classifyRequest(facts("click", { "user-agent": "AcmeScan/1.0" }))).toEqual({ machine: false });
    // A row that tests nothing never matches everything.
    expect(classifyRequest(facts("click", { "user-agent": CHROME }), { rules: [{ reason: "empty" }] })).toEqual({ machine: false });
  });

  test("every rule has a lower-case reason the event schema accepts", () => {
    for (const r of MACHINE_RULES) expect(r.reason).toMatch(/^[a-z0-9_]{1,64}$/);
  });
});
