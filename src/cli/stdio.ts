// Where commands write. `out` resolves once the text has left the process, so a command that
// writes a lot (hookd parse) can wait for a slow pipe instead of buffering its whole output,
// and the process can wait for the last write before it exits: Bun drops what is still queued
// on a pipe at process.exit(), which cut `hookd parse FILE | …` short.

export type IO = { out: (s: string | Uint8Array) => void | Promise<void>; err: (s: string) => void };

let pending: Promise<void>[] = [];

function write(stream: NodeJS.WriteStream, s: string | Uint8Array): Promise<void> {
  // A reader that went away (EPIPE: `hookd parse … | head`) ends the output, not the process.
  const p = new Promise<void>((resolve) => stream.write(s, () => resolve()));
  pending.push(p);
  if (pending.length > 64) pending = pending.slice(-1); // writes finish in order
  return p;
}

export const stdio: IO = {
  out: (s) => write(process.stdout, s),
  err: (s) => void write(process.stderr, s),
};

/** Resolves when everything written so far through `stdio` has been handed to the OS. */
export async function flushed(): Promise<void> {
  await Promise.all(pending);
  pending = [];
}
