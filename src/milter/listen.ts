// `[milter] listen`: "127.0.0.1:8891", "[::1]:8891" or "unix:/run/hookd/milter.sock" (pure).
import { isIP } from "node:net";

export type ListenAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export class ListenParseError extends Error {
  override name = "ListenParseError";
}

/** Longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_UNIX_PATH = 107;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function parseListen(text: string): ListenAddress {
  const s = text.trim();
  const expected = `expected "host:port" (e.g. "127.0.0.1:8891") or "unix:/absolute/path"`;
  if (s === "") throw new ListenParseError(`milter listen address is empty: ${expected}`);
  if (s.startsWith("unix:")) {
    const path = s.slice(5);
    if (!path.startsWith("/")) throw new ListenParseError(`milter listen "${text}": the unix socket path must be absolute`);
    if (Buffer.byteLength(path) > MAX_UNIX_PATH) {
      throw new ListenParseError(`milter listen "${text}": the unix socket path is longer than ${MAX_UNIX_PATH} bytes`);
    }
    if (path.endsWith("/")) throw new ListenParseError(`milter listen "${text}": the unix socket path names a directory`);
    return { kind: "unix", path };
  }
  if (/^(inet6?|local):/.test(s)) {
    throw new ListenParseError(`milter listen "${text}": write it without Postfix's "${s.split(":")[0]}:" prefix; ${expected}`);
  }
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new ListenParseError(`milter listen "${text}": ${expected}`);
  const port = Number(m[3]);
  if (port > 65535) throw new ListenParseError(`milter listen "${text}": port ${port} is over 65535`);
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined) {
    if (isIP(host) !== 6) throw new ListenParseError(`milter listen "${text}": brackets are for IPv6 addresses, "${host}" is not one`);
  } else if (isIP(host) !== 4 && (/^[\d.]+$/.test(host) || !HOSTNAME.test(host))) {
    throw new ListenParseError(`milter listen "${text}": "${host}" is not an IPv4 address or a host name`);
  }
  return { kind: "tcp", host, port };
}

export function formatListen(a: ListenAddress): string {
  if (a.kind === "unix") return `unix:${a.path}`;
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
