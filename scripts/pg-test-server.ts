// A throwaway PostgreSQL on a unix socket in a temp folder; the code lives in
// test/helpers/pg-server.ts (tests and benches import it from there, or from here).
// `bun scripts/pg-test-server.ts [--durable] [--tcp]` starts one, prints its URL and waits for ^C.
import { startPgServer } from "../test/helpers/pg-server.ts";

export { pgBinDir, type PgServer, type PgServerOptions, startPgServer } from "../test/helpers/pg-server.ts";

if (import.meta.main) {
  const pg = await startPgServer({ durable: process.argv.includes("--durable"), tcp: process.argv.includes("--tcp") });
  console.log(JSON.stringify({ url: pg.url, tcpUrl: pg.tcpUrl, dir: pg.dir }));
  const bye = async () => {
    await pg.stop();
    process.exit(0);
  };
  process.on("SIGINT", bye);
  process.on("SIGTERM", bye);
  // Keeps the process alive until a signal.
  setInterval(() => {}, 1 << 30);
}
