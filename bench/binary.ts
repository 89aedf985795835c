// The product executable for the benches that measure it (startup, memory): dist/hookd as
// `npm run build` makes it, rebuilt into the bench's folder when src/ changed since.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { BUN, childEnv, note, REPO, track } from "./perf-common.ts";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!f.isFile()) continue;
    newest = Math.max(newest, statSync(path.join(f.parentPath, f.name)).mtimeMs);
  }
  return newest;
}

async function build(outfile: string) {
  // What `npm run build` runs, read from package.json.
  const script = (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build.split(
    /\s+/,
  );
  script[0] = BUN;
  script[script.indexOf("--outfile") + 1] = outfile;
  const p = track(Bun.spawn(script, { cwd: REPO, stdout: "pipe", stderr: "pipe", env: childEnv() }));
  const code = await p.exited;
  if (code !== 0) throw new Error(`bun build --compile exited ${code}: ${await new Response(p.stderr).text()}`);
}

/** dist/hookd, built if missing; a fresh build in `dir` when dist/hookd is older than src/ or public/. */
export async function binary(dir: string, section: string): Promise<string> {
  const dist = path.join(REPO, "dist/hookd");
  if (!existsSync(dist)) {
    await build(dist);
    note(section, "dist/hookd was missing: built it (with npm run build's command)");
    return dist;
  }
  const sources = Math.max(
    newestMtime(path.join(REPO, "src")),
    existsSync(path.join(REPO, "public")) ? newestMtime(path.join(REPO, "public")) : 0,
  );
  if (statSync(dist).mtimeMs < sources) {
    const fresh = path.join(dir, "hookd");
    await build(fresh);
    note(section, "dist/hookd is older than src/: measured a fresh build of the current tree (dist/ left as it was)");
    return fresh;
  }
  return dist;
}
