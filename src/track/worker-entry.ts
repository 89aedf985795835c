// Where the tracking worker's module is. `bun build --compile` embeds it as an extra entry
// point (package.json's build script), named from the entry points' common folder (src/);
// run from source, the file sits next to this one. (As ingest/worker-entry.ts.)
export function workerEntry(file: string): string {
  return import.meta.url.includes("$bunfs") ? `./track/${file}` : new URL(`./${file}`, import.meta.url).href;
}
