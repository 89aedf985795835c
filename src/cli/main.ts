import type { Config } from "../config/schema.ts";
import { ConfigError } from "../config/errors.ts";
import { VERSION } from "../version.ts";
import { parseArgs, flag, UsageError } from "./args.ts";
import { HELP } from "./help.ts";
import { stdio, type IO } from "./stdio.ts";

export const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

// Each command's modules are loaded when it runs: `hookd parse` needs the parser only, not the
// config schemas, API and store (≈ 60–90 ms of module start-up on every run).

const OPTIONS: Record<string, readonly string[]> = {
  serve: ["--config", "--help"],
  "check-config": ["--config", "--help"],
  apikey: ["--config", "--name", "--scopes", "--help"],
  version: ["--help"],
  parse: ["--format", "--help"],
  backfill: ["--format", "--config", "--help"],
  tracking: ["--config", "--help"],
  feedback: ["--config", "--sender", "--recipient", "--help"],
  rewrite: ["--help"],
};

/** Runs one command and resolves to its exit code; `serve` resolves when hookd has stopped. */
export async function main(argv: readonly string[], io: IO = stdio): Promise<number> {
  if (argv.includes("--version") && argv.length === 1) argv = ["version"];
  if (argv.length === 0 || argv[0]!.startsWith("-")) {
    if (argv[0] === "--help" || argv[0] === "-h") {
      io.out(HELP);
      return EXIT.ok;
    }
    argv = ["serve", ...argv];
  }
  const command = argv[0]!;
  // In the mail path (Exim's transport_filter): never an error exit, whatever the arguments.
  if (command === "rewrite" && !argv.includes("--help")) return rewrite(argv.slice(1), io);
  const allowed = OPTIONS[command];
  if (!allowed) {
    io.err(`hookd: unknown command "${command}"\n\n${HELP}`);
    return EXIT.usage;
  }
  try {
    const args = parseArgs(argv, allowed);
    if (args.flags.has("--help")) {
      io.out(HELP);
      return EXIT.ok;
    }
    if (command === "version") {
      io.out(`hookd ${VERSION}\n`);
      return EXIT.ok;
    }
    if (command === "parse") return await (await import("./parse.ts")).parseCommand(args, io);
    // Reads its own config: for a pipe transport, a config it cannot read is a retry (75), not a usage error.
    if (command === "feedback") return await (await import("./feedback.ts")).feedbackCommand(args, io);
    if (!["apikey", "backfill", "tracking"].includes(command) && args.positionals.length > 1)
      throw new UsageError(`unexpected argument "${args.positionals[1]}"`);
    const { loadConfig } = await import("../config/load.ts");
    const { config, file } = loadConfig({ path: flag(args, "--config") });
    if (command === "check-config") {
      // A fleet's node is only as good as its database: a URL it cannot reach is an error here.
      if (config.storage.driver === "postgres") {
        const probe = await (await import("../store/open.ts")).probeDatabase(config.storage.url);
        if (!probe.ok) {
          io.err(`${file ?? "config"}: storage.url: ${probe.reason}\n`);
          return EXIT.usage;
        }
        io.out((await import("../config/summary.ts")).summarizeConfig(config, file) + "\n");
        io.out(
          `database: PostgreSQL ${probe.server}, schema version ${probe.schemaVersion || "none yet"}` +
            (probe.schemaVersion < probe.latestVersion ? ` (hookd serve brings it to ${probe.latestVersion})` : "") +
            "\n",
        );
        return EXIT.ok;
      }
      io.out((await import("../config/summary.ts")).summarizeConfig(config, file) + "\n");
      return EXIT.ok;
    }
    if (command === "apikey") return await (await import("./apikey.ts")).apikeyCommand(args, config, io);
    if (command === "tracking") return await (await import("./tracking.ts")).trackingCommand(args, config, io);
    if (command === "backfill") return await (await import("./backfill.ts")).backfillCommand(args, config, io);
    return await serve(config, flag(args, "--config"), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`hookd: ${err.message}\nRun "hookd --help" for usage.\n`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      io.err(err.message + "\n");
      return EXIT.usage;
    }
    io.err(`hookd: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.runtime;
  }
}

async function rewrite(argv: readonly string[], io: IO): Promise<number> {
  const { rewriteCommand } = await import("./rewrite.ts");
  const { loadConfig } = await import("../config/load.ts");
  const { fstatSync } = await import("node:fs");
  // Exim runs a transport filter with stderr on the same pipe as stdout: a line there would
  // become part of the message.
  const out = fstatSync(1);
  const err = fstatSync(2);
  const stderrIsStdout = out.dev === err.dev && out.ino === err.ino;
  return rewriteCommand(
    argv,
    {
      input: async () => new Uint8Array(await Bun.stdin.arrayBuffer()),
      output: (bytes) => new Promise<void>((resolve) => process.stdout.write(bytes, () => resolve())),
      err: stderrIsStdout ? () => {} : io.err,
    },
    (path) => loadConfig({ path }).config,
  );
}

async function serve(config: Config, configPath: string | undefined, io: IO): Promise<number> {
  const { startHookd } = await import("../app.ts");
  const { loadConfig } = await import("../config/load.ts");
  // Handlers go in before start, so a signal during start-up is not the default action
  // (which for SIGHUP would kill the process). Signals before hookd is up are remembered.
  let hookd: Awaited<ReturnType<typeof startHookd>> | null = null;
  let pendingStop: string | null = null;
  process.on("SIGHUP", () => {
    if (!hookd) return; // the config being started with is already the newest
    let next: ReturnType<typeof loadConfig>["config"];
    try {
      next = loadConfig({ path: configPath }).config;
    } catch (err) {
      io.err(`hookd: SIGHUP: config not reloaded:\n${err instanceof Error ? err.message : String(err)}\n`);
      return;
    }
    hookd!.reload(next).catch((err) => io.err(`hookd: SIGHUP: reload failed: ${err instanceof Error ? err.message : String(err)}\n`));
  });
  const early = (signal: string) => () => (pendingStop ??= signal);
  const earlyTerm = early("SIGTERM");
  const earlyInt = early("SIGINT");
  process.on("SIGTERM", earlyTerm);
  process.on("SIGINT", earlyInt);
  hookd = await startHookd({ config, announceKey: undefined });
  const running = hookd;
  process.off("SIGTERM", earlyTerm);
  process.off("SIGINT", earlyInt);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      io.err(`hookd: ${signal} received, stopping\n`);
      running.stop().then(
        () => resolve(EXIT.ok),
        () => resolve(EXIT.runtime),
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    if (pendingStop) stop(pendingStop);
  });
}
