// The baseline for the tracking listener: a plain Bun.serve, in its own process, answering
// every GET /c/… with the same 302 (same headers, a fixed Location) without verifying or
// recording anything. Prints {"port":N} once listening.
//   bun bench/track-plain.ts LOCATION
import { BASE_HEADERS } from "../src/track/pages.ts";

const location = process.argv[2] ?? "https://shop.example.com/";
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 10,
  fetch: () => new Response(null, { status: 302, headers: { ...BASE_HEADERS, Location: location } }),
});
console.log(JSON.stringify({ port: server.port }));
