import type { TokenKind } from "./tokens.ts";

// Which opens and clicks a machine made: prefetches, image proxies, link scanners, previews.
// They are kept and marked (`machine: true`, `machine_reason`), never dropped; a webhook can
// leave them out with `filter: {machine: false}`. The rules are a table: the first row that
// matches names the reason. To add one, add a row (and a case in test/track/machine.test.ts).
//
// What User-Agent rules cannot see: scanners that fetch with an ordinary browser's User-Agent
// (Microsoft Defender Safe Links detonation, Proofpoint and Mimecast sandboxes often do).
// The fast-click rule catches most of those: they follow links seconds after delivery.

export type RequestFacts = {
  kind: TokenKind;
  method: string;
  /** Header lookup, case-insensitive (a Headers object's `get`). */
  header: (name: string) => string | null;
  /** The token's issued-at, unix seconds. */
  issuedAt: number;
  /** When the request arrived, unix milliseconds. */
  now: number;
};

export type MachineVerdict = { machine: boolean; reason?: string };

export type MachineRule = {
  reason: string;
  /** The kinds the rule applies to; absent: all. */
  kinds?: readonly TokenKind[];
  method?: string;
  /** A request header and what its value must match. */
  header?: readonly [name: string, value: RegExp];
  userAgent?: RegExp;
};

// Sources: each row's comment. Substrings of product names do not occur in browsers' own
// User-Agents, so they are matched loosely; generic words are matched as words.
export const MACHINE_RULES: readonly MachineRule[] = [
  // HEAD fetches headers only: link checkers and scanners, never a person reading mail.
  { reason: "head", method: "HEAD" },
  // Prefetch and prerender: Sec-Purpose (Fetch standard; Chrome speculation rules), Purpose
  // (older Chrome, Safari), X-Purpose ("preview": Safari Top Sites), X-Moz (Firefox prefetch).
  { reason: "prefetch", header: ["sec-purpose", /prefetch|prerender/i] },
  { reason: "prefetch", header: ["purpose", /prefetch|prerender|preview/i] },
  { reason: "prefetch", header: ["x-purpose", /prefetch|prerender|preview/i] },
  { reason: "prefetch", header: ["x-moz", /prefetch/i] },
  // No User-Agent at all: scripts and scanners; every mail client and browser sends one.
  { reason: "no_user_agent", userAgent: /^\s*$/ },
  // Apple Mail Privacy Protection loads remote content through Apple's proxies when mail
  // arrives, whether or not it is read, with the bare User-Agent "Mozilla/5.0" (observed and
  // published since iOS 15, e.g. Litmus and SendGrid's sg_machine_open documentation).
  { reason: "apple_privacy_proxy", kinds: ["open"], userAgent: /^Mozilla\/5\.0$/ },
  // Gmail fetches images through its proxy, "…(via ggpht.com GoogleImageProxy)" (Google:
  // support.google.com/mail/answer/145919); Yahoo through "YahooMailProxy" (Yahoo help
  // SLN28749). The SPEC counts image proxies as machines; the human open behind a Gmail proxy
  // fetch is then visible only as `machine_reason: "gmail_image_proxy"`.
  { reason: "gmail_image_proxy", kinds: ["open"], userAgent: /GoogleImageProxy/ },
  { reason: "yahoo_mail_proxy", kinds: ["open"], userAgent: /YahooMailProxy/ },
  // Mail security gateways' link and attachment scanners, by the product names they send:
  // "Barracuda Sentinel (EE)" (listed by GMass's false-opens study and Braze's bot-click
  // documentation), Mimecast ("Mimecast-Link-Protect"), Proofpoint URL Defense, Symantec /
  // Broadcom, Cisco IronPort, Fortinet FortiMail, Trend Micro, Sophos, Check Point.
  {
    reason: "security_scanner",
    userAgent: /Barracuda|Mimecast|Proofpoint|Symantec|IronPort|FortiMail|Fortinet|Trend ?Micro|Sophos|Check ?Point/i,
  },
  // Microsoft: Office's link check before opening a URL ("Microsoft Office Existence
  // Discovery"), Bing's page preview (Outlook.com, Teams), Safe Links' URL analyzer.
  { reason: "microsoft_scanner", userAgent: /Microsoft Office Existence Discovery|BingPreview|SafeLinks|Microsoft-URLAnalyzer/i },
  // Chat and social link previews (their published crawler names).
  {
    reason: "link_preview",
    userAgent:
      /facebookexternalhit|WhatsApp\/|SkypeUriPreview|Slackbot|Discordbot|TelegramBot|Twitterbot|LinkedInBot|Iframely|Embedly|redditbot/i,
  },
  // Headless browsers and HTTP libraries: nobody reads mail with them.
  { reason: "headless_browser", userAgent: /HeadlessChrome|PhantomJS|Puppeteer|Playwright/i },
  {
    reason: "http_library",
    userAgent:
      /^(?:curl|Wget|python-requests|python-urllib|Python\/|aiohttp|python-httpx|Go-http-client|Java\/|okhttp|Apache-HttpClient|libwww-perl|axios|node-fetch|undici|AHC\/|lua-resty-http|Ruby|PHP|GuzzleHttp)/i,
    kinds: ["click"], // okhttp and Java also load images in some Android mail apps
  },
  // Crawlers that say so: "…bot" as a word or at a word's end ("Googlebot", "bingbot",
  // "AhrefsBot", "Snap URL Preview Service; bot"), crawler, spider. Not "CUBOT" (a phone).
  { reason: "bot", userAgent: /[a-z]bot\b|\bbot\b|Bot\b|crawler|spider/ },
];

export type MachineOptions = {
  rules?: readonly MachineRule[];
  /** A click this soon after the mail was tracked is a scanner's. 0: off. */
  fastClickSeconds?: number;
};

export const DEFAULT_FAST_CLICK_SECONDS = 10;

export function classifyRequest(f: RequestFacts, opts: MachineOptions = {}): MachineVerdict {
  // A one-click unsubscribe is a machine's POST by design (RFC 8058: the mailbox provider sends
  // it for the reader), and scanners do not POST: never marked, never filtered away.
  if (f.kind === "unsubscribe") return { machine: false };
  const ua = f.header("user-agent") ?? "";
  for (const rule of opts.rules ?? MACHINE_RULES) {
    if (rule.kinds && !rule.kinds.includes(f.kind)) continue;
    if (rule.method !== undefined && f.method !== rule.method) continue;
    if (rule.header) {
      const v = f.header(rule.header[0]);
      if (v === null || !rule.header[1].test(v)) continue;
    }
    if (rule.userAgent && !rule.userAgent.test(ua)) continue;
    if (!rule.method && !rule.header && !rule.userAgent) continue; // a row must test something
    return { machine: true, reason: rule.reason };
  }
  const fast = opts.fastClickSeconds ?? DEFAULT_FAST_CLICK_SECONDS;
  // A person needs the mail delivered, opened and read; a scanner follows links on arrival.
  if (f.kind === "click" && fast > 0 && f.now / 1000 - f.issuedAt < fast) return { machine: true, reason: "fast_click" };
  return { machine: false };
}
