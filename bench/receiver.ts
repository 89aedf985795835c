// A webhook receiver for the bench, run as its own process (`bun bench/receiver.ts [count|latency]`)
// so that counting never shares an event loop with hookd or with the bench's log writer.
// Prints {"port":N} once listening. Every POST is answered 200 at once.
//   count:   counts `"event_id":` occurrences in each body (no JSON parse), per path and per 100 ms
//   latency: also parses each body and records [rcpt_to, receipt time] per event
// Control: GET /_stats, GET /_received (latency mode), GET /_reset.

const mode = process.argv[2] === "latency" ? "latency" : "count";
const now = () => performance.timeOrigin + performance.now();

let total = 0;
let requests = 0;
let first = 0;
let last = 0;
let perPath = new Map<string, number>();
let buckets = new Map<number, number>();
let received: [string, number][] = [];

const NEEDLE = '"event_id":';

function countEvents(text: string): number {
  let n = 0;
  let i = text.indexOf(NEEDLE);
  while (i !== -1) {
    n++;
    i = text.indexOf(NEEDLE, i + NEEDLE.length);
  }
  return n;
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  maxRequestBodySize: 256 * 1024 * 1024,
  idleTimeout: 120,
  async fetch(req) {
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const pathname = start === -1 ? "/" : url.slice(start);
    if (req.method === "GET" && pathname.startsWith("/_")) {
      if (pathname === "/_stats") {
        return Response.json({ total, requests, perPath: Object.fromEntries(perPath), buckets: [...buckets], first, last });
      }
      if (pathname === "/_received") return Response.json(received);
      if (pathname === "/_reset") {
        total = requests = first = last = 0;
        perPath = new Map();
        buckets = new Map();
        received = [];
        return Response.json({ ok: true });
      }
      return new Response("not found", { status: 404 });
    }
    const text = await req.text();
    const at = now();
    let n: number;
    if (mode === "latency") {
      const body = JSON.parse(text) as { rcpt_to?: string }[];
      n = body.length;
      for (const e of body) if (e.rcpt_to) received.push([e.rcpt_to, at]);
    } else {
      n = countEvents(text);
    }
    total += n;
    requests++;
    if (!first) first = at;
    last = at;
    perPath.set(pathname, (perPath.get(pathname) ?? 0) + n);
    const b = Math.floor(at / 100);
    buckets.set(b, (buckets.get(b) ?? 0) + n);
    return new Response("ok");
  },
});

process.stdout.write(JSON.stringify({ port: server.port }) + "\n");
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
