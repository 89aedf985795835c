// TCP_QUICKACK on the milter's TCP connections (Linux), so Postfix is never kept waiting for
// an ACK.
//
// Why: Postfix writes the milter protocol in small packets (a macro packet, then its command)
// on a socket with Nagle's algorithm on, and waits for the milter's answer only at the end of
// the message. Nagle holds each small write back until the one before it is ACKed, and the
// milter's kernel, having nothing to send back, delays that ACK (up to 40 ms on Linux). Every
// message then pays ~40 ms per stall over TCP — measured with OpenDKIM as with hookd: 43–47 ms
// a message on one SMTP connection, 6–7 ms over a unix socket or with this. Quick-ACK mode is
// not sticky (the kernel leaves it by itself), so it is asked for again after every read.
//
// Node's net API has no setsockopt; bun:ffi calls libc's. Anything missing — not Linux, no
// libc found, no file descriptor on the socket — turns this into a no-op: it only saves time.
import type net from "node:net";

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;
const LIBC = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"];

type SetSockOpt = (fd: number, level: number, name: number, value: number) => boolean;

let setsockopt: SetSockOpt | null | undefined;

async function load(): Promise<SetSockOpt | null> {
  if (process.platform !== "linux") return null;
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    for (const name of LIBC) {
      try {
        const lib = dlopen(name, {
          setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
        });
        const one = new Int32Array(1);
        return (fd, level, opt, value) => {
          one[0] = value;
          return lib.symbols.setsockopt(fd, level, opt, ptr(one), 4) === 0;
        };
      } catch {
        // not this name
      }
    }
  } catch {
    // no bun:ffi
  }
  return null;
}

/** Loads libc's setsockopt once; call before the first quickAck (server start). */
export async function prepareQuickAck(): Promise<boolean> {
  setsockopt ??= await load();
  return setsockopt !== null;
}

/** Asks the kernel to ACK at once what arrives on this TCP socket; false when it cannot. */
export function quickAck(sock: net.Socket): boolean {
  if (!setsockopt) return false;
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, 1);
}
