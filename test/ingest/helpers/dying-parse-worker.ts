// The real parse worker, except that it exits when a chunk holds the line `${DIE_ONCE} <file>`
// and that file exists: it removes the file first, so it dies once. The file is named in the
// log itself because a worker does not see env vars set after the process started.
import { existsSync, unlinkSync } from "node:fs";
import "../../../src/ingest/parse-worker.ts";
import { DIE_ONCE } from "./dying.ts";

type Scope = { onmessage: (ev: MessageEvent<{ method: string; arg: { text?: string } }>) => void };
const scope = globalThis as unknown as Scope;
const serve = scope.onmessage;
scope.onmessage = (ev) => {
  const text = ev.data.method === "feed" ? (ev.data.arg.text ?? "") : "";
  const at = text.indexOf(DIE_ONCE);
  if (at !== -1) {
    const end = text.indexOf("\n", at);
    const file = text.slice(at + DIE_ONCE.length + 1, end === -1 ? undefined : end);
    if (existsSync(file)) {
      unlinkSync(file);
      process.exit(1);
    }
  }
  serve(ev);
};
