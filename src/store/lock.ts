import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

// One hookd per store. Two would both tail the same logs and send every batch twice. The
// lock is a file next to the store holding the owner's pid, created with O_EXCL; a lock
// whose pid is gone (the owner was killed) is taken over.

export class StoreLockedError extends Error {
  override name = "StoreLockedError";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // After a reboot the pid may belong to an unrelated process: only a hookd counts.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes("hookd") || cmdline.includes("main.ts");
  } catch {
    return true; // no /proc: trust the pid
  }
}

export function acquireStoreLock(storePath: string): { path: string; release(): void } {
  const path = `${storePath}.lock`;
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        path,
        release() {
          try {
            if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, "utf8").trim());
      } catch {
        continue; // removed between our open and read: try again
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new StoreLockedError(
          `another hookd (pid ${owner}) is already using the store ${storePath}; stop it first, or set storage.path to another file`,
        );
      }
      try {
        unlinkSync(path); // stale: its owner is gone
      } catch {
        // someone else took it over first; the next open decides
      }
    }
  }
  throw new StoreLockedError(`could not take the lock ${path}`);
}
