// Not a test: measures hookd's RSS around large POST /events bodies, for the figures in
// config.example.toml (server.max_body_size). Runs a built binary (or `bun src/main.ts`),
// idles it a second, then posts REPS rounds of CONC concurrent batches of N custom events
// whose JSON is ~MB megabytes, and prints idle, peak (VmHWM: no sample can miss it) and
// the RSS a second after.
//   bun run build && BIN=dist/hookd MB=5 CONC=4 REPS=2 bun bench/measure-body-peaks.ts
//   MAXBODY=32MB MB=29 … sets server.max_body_size for the run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = process.env;
const BIN = env.BIN ?? "dist/hookd";
const MB = Number(env.MB ?? 5);
const CONC = Number(env.CONC ?? 1);
const REPS = Number(env.REPS ?? 3);
const N = Number(env.N ?? 10_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookd-peaks-"));
const command = BIN.endsWith(".ts") ? [process.execPath, BIN, "serve"] : [BIN, "serve"];
const proc = Bun.spawn(command, {
  cwd: dir,
  env: {
    PATH: env.PATH ?? "",
    HOOKD_STORAGE_PATH: path.join(dir, "hookd.db"),
    HOOKD_SERVER_LISTEN: "127.0.0.1:0",
    HOOKD_SERVER_RATE_LIMIT: "0",
    ...(env.MAXBODY ? { HOOKD_SERVER_MAX_BODY_SIZE: env.MAXBODY } : {}),
  },
  stdout: "pipe",
  stderr: "pipe",
});
let out = "";
let err = "";
void (async () => {
  for await (const c of proc.stdout) out += new TextDecoder().decode(c);
})();
void (async () => {
  for await (const c of proc.stderr) err += new TextDecoder().decode(c);
})();
const until = async (re: RegExp) => {
  for (let i = 0; i < 300 && !re.test(out + err); i++) await Bun.sleep(50);
  const m = re.exec(out + err);
  if (!m) throw new Error(`no ${re} in hookd's output:\n${out}\n${err}`);
  return m[1]!;
};
try {
  const url = await until(/"listen":"([^"]+)"/);
  const key = await until(/(hookd_[A-Za-z0-9_-]{30,})/);
  await Bun.sleep(1000);
  const status = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${proc.pid}/status`, "utf8"))![1]) / 1024;
  const batch = (tag: string) => {
    const make = (pad: string) =>
      JSON.stringify(
        Array.from({ length: N }, (_, i) => ({
          type: "custom",
          custom_type: "bulk",
          event_id: `${tag}-${i}`,
          rcpt_to: `u${i}@example.org`,
          data: { pad },
        })),
      );
    return make("x".repeat(Math.max(0, Math.floor((MB * 1e6 - make("").length) / N))));
  };
  const idle = status("VmRSS");
  const statuses = new Set<number>();
  for (let r = 0; r < REPS; r++) {
    const bodies = Array.from({ length: CONC }, (_, c) => batch(`r${r}c${c}`));
    const res = await Promise.all(
      bodies.map((body) =>
        fetch(`${url}/api/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body,
        }),
      ),
    );
    for (const x of res) {
      statuses.add(x.status);
      await x.arrayBuffer();
    }
  }
  await Bun.sleep(1000);
  console.log(
    JSON.stringify({
      bin: BIN,
      MB,
      N,
      CONC,
      REPS,
      idle: Math.round(idle),
      peak: Math.round(status("VmHWM")),
      after: Math.round(status("VmRSS")),
      statuses: [...statuses],
    }),
  );
} finally {
  proc.kill(9);
  fs.rmSync(dir, { recursive: true, force: true });
}
