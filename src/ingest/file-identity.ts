// Which file is this? A path names different files over time (rotation), and a filesystem
// reuses the inode number of a deleted file, so a file is known by its device, its inode and
// a fingerprint of its first bytes. The fingerprint covers the first min(offset, 1 KiB)
// bytes — only bytes already read — and says how many: "<n>:<sha256 hex>". While a file is
// shorter than 1 KiB the fingerprint grows with it; a longer file is compared on the first n.

import { createHash } from "node:crypto";
import { open, readdir, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export const FINGERPRINT_MAX_BYTES = 1024;

/** A position in one file: what the caller commits, what a restart resumes from. */
export type Checkpoint = { dev: number; ino: number; fingerprint: string; offset: number };

const FORMAT = /^(\d{1,9}):([0-9a-f]{64})$/;
const COMPRESSED = /\.(gz|bz2|xz|zst|lz4|lzma|z|zip)$/i;

export function fingerprintBytes(fingerprint: string): number | null {
  const m = FORMAT.exec(fingerprint);
  return m ? Number(m[1]) : null;
}

function hash(bytes: Uint8Array): string {
  return `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
}

export const EMPTY_FINGERPRINT = hash(new Uint8Array(0));

async function readPrefix(fh: FileHandle, n: number): Promise<Buffer | null> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, got);
    if (bytesRead === 0) return null;
    got += bytesRead;
  }
  return buf;
}

/** The fingerprint of the file's first n bytes, or null when it has fewer. */
export async function fingerprintFile(fh: FileHandle, n: number): Promise<string | null> {
  const buf = await readPrefix(fh, n);
  return buf ? hash(buf) : null;
}

/**
 * Checks that the file still starts with the bytes `fingerprint` covers and returns the
 * fingerprint of its first `upTo` bytes (at least as many as before): null means the file no
 * longer starts the way it did — truncated, or rewritten in place.
 */
export async function extendFingerprint(fh: FileHandle, fingerprint: string, upTo: number): Promise<string | null> {
  const had = fingerprintBytes(fingerprint);
  if (had === null) return null;
  const buf = await readPrefix(fh, Math.max(had, upTo));
  if (!buf || hash(buf.subarray(0, had)) !== fingerprint) return null;
  return buf.length === had ? fingerprint : hash(buf);
}

export type OpenFile = { fh: FileHandle; name: string; dev: number; ino: number; size: number };
export type FoundFile = OpenFile & { how: "inode" | "copy" };

/** Names in the directory of `path` that look like its rotations, likeliest first. */
async function rotatedNames(path: string): Promise<{ rotated: string[]; others: string[] }> {
  const base = basename(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const rotated = names.filter((n) => n !== base && n.startsWith(base) && !COMPRESSED.test(n)).sort();
  const preferred = [`${base}.1`, `${base}.0`].filter((n) => rotated.includes(n));
  const ordered = [...new Set([...preferred, ...rotated])];
  return { rotated: ordered, others: names.filter((n) => n !== base && !ordered.includes(n)) };
}

/** The name (in the directory of `path`, never `path` itself) of the file with this device and inode. */
export async function nameOfInode(path: string, dev: number, ino: number, everywhere = false): Promise<string | null> {
  const { rotated, others } = await rotatedNames(path);
  for (const name of everywhere ? [...rotated, ...others] : rotated) {
    const st = await stat(join(dirname(path), name)).catch(() => null);
    if (st?.isFile() && st.dev === dev && st.ino === ino) return name;
  }
  return null;
}

/**
 * Finds where the file of `want` went, in the directory of `path` (never `path` itself):
 * first the file with the same device and inode (renamed: `<name>.1` is tried first), then a
 * rotated name (`<name>.1`, `<name>-20250101`, …; compressed ones skipped) starting with the
 * same bytes — the copy copytruncate leaves. Either must be at least `want.offset` long.
 */
export async function findRotated(path: string, want: Checkpoint): Promise<FoundFile | null> {
  const dir = dirname(path);
  const name = await nameOfInode(path, want.dev, want.ino, true);
  const byInode = name ? await openIfStartsLike(join(dir, name), want, "inode") : null;
  if (byInode) return byInode;
  if (!fingerprintBytes(want.fingerprint)) return null; // nothing to compare a copy with
  for (const name of (await rotatedNames(path)).rotated) {
    const found = await openIfStartsLike(join(dir, name), want, "copy");
    if (found) return found;
  }
  return null;
}

/**
 * logrotate's numbering: the files rotated after `<base>.N` are `<base>.N-1` … `<base>.1`.
 * Opens those that exist uncompressed, oldest first; none for other names.
 */
export async function openNewerRotations(path: string, name: string): Promise<OpenFile[]> {
  const base = basename(path);
  const n = name.startsWith(`${base}.`) ? Number(name.slice(base.length + 1)) : NaN;
  const out: OpenFile[] = [];
  for (let i = n - 1; Number.isInteger(i) && i >= 1 && i < 1000; i--) {
    const file = join(dirname(path), `${base}.${i}`);
    const fh = await open(file, "r").catch(() => null);
    if (!fh) continue;
    const st = await fh.stat().catch(() => null);
    if (st?.isFile()) out.push({ fh, name: `${base}.${i}`, dev: st.dev, ino: st.ino, size: st.size });
    else await fh.close().catch(() => {});
  }
  return out;
}

async function openIfStartsLike(file: string, want: Checkpoint, how: FoundFile["how"]): Promise<FoundFile | null> {
  const fh = await open(file, "r").catch(() => null);
  if (!fh) return null;
  try {
    const st = await fh.stat();
    const sameInode = st.dev === want.dev && st.ino === want.ino;
    if (st.isFile() && st.size >= want.offset && (how === "copy" || sameInode)) {
      if ((await extendFingerprint(fh, want.fingerprint, 0)) !== null) {
        return { fh, name: basename(file), dev: st.dev, ino: st.ino, size: st.size, how };
      }
    }
  } catch {
    // unreadable: not the one
  }
  await fh.close().catch(() => {});
  return null;
}
