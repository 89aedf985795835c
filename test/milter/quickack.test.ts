// TCP_QUICKACK through libc (quickack.ts): on Linux it takes on a TCP socket and is refused on
// a unix one; either way it never throws.
import { expect, test } from "bun:test";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareQuickAck, quickAck } from "../../src/milter/quickack.ts";

function pair(
  listen: (srv: net.Server, ready: () => void) => void,
  connect: (srv: net.Server) => net.Socket,
): Promise<{ server: net.Socket; close: () => void }> {
  return new Promise((resolve) => {
    const srv = net.createServer((s) =>
      resolve({
        server: s,
        close: () => {
          s.destroy();
          client.destroy();
          srv.close();
        },
      }),
    );
    let client: net.Socket;
    listen(srv, () => (client = connect(srv)));
  });
}

// hookd runs on Linux (Postfix's and Exim's home); elsewhere quickack.ts is a no-op.
test("on Linux: set on a TCP connection, refused (false) on a unix socket", async () => {
  expect(await prepareQuickAck()).toBe(true);
  const tcp = await pair(
    (srv, ready) => srv.listen(0, "127.0.0.1", ready),
    (srv) => net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1"),
  );
  expect(quickAck(tcp.server)).toBe(true);
  tcp.close();
  const dir = mkdtempSync(join(tmpdir(), "hookd-qa-"));
  const path = join(dir, "s.sock");
  const unix = await pair(
    (srv, ready) => srv.listen(path, ready),
    () => net.connect(path),
  );
  expect(quickAck(unix.server)).toBe(false);
  unix.close();
  rmSync(dir, { recursive: true, force: true });
});
