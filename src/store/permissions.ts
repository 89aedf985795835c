import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";

// The store holds receivers' credentials, whsec_ secrets and ECDSA private keys in clear:
// it is for hookd's user alone. hookd creates its folder 0700 and its files 0600 (SQLite
// gives the -wal and -shm files the mode of the database file), and says so at start when
// a store made before, or by hand, lets others in.

const OTHERS = 0o077;

/** Runs `fn` with umask 077, so whatever it creates is private to this user. */
export function privately<T>(fn: () => T): T {
  const before = process.umask(OTHERS);
  try {
    return fn();
  } finally {
    process.umask(before);
  }
}

export type ExposedPath = { path: string; mode: string };

/** The store's folder and files (database, -wal, -shm) that group or others may read, write or enter. */
export function exposedStorePaths(storePath: string): ExposedPath[] {
  if (storePath === ":memory:") return [];
  const out: ExposedPath[] = [];
  for (const p of [dirname(storePath), storePath, `${storePath}-wal`, `${storePath}-shm`]) {
    if (!existsSync(p)) continue;
    const mode = statSync(p).mode & 0o777;
    if (mode & OTHERS) out.push({ path: p, mode: mode.toString(8).padStart(4, "0") });
  }
  return out;
}
