import type { Config } from "../config/schema.ts";
import { formatDuration } from "../lib/units.ts";
import { connectStore, storeTarget } from "../store/open.ts";
import { ensureKeyring, keyViews, KeyringError, rotateStoredKeyring, type KeyView } from "../track/keystore.ts";
import { UsageError, type ParsedArgs } from "./args.ts";

// `hookd tracking keys | rotate-key`: the keys that sign tracked links, by id (never the keys
// themselves). Works beside a running hookd: the store is shared, and its listener reads the
// new ring within a second.

type Out = { out: (s: string) => void; err: (s: string) => void };

function table(keys: KeyView[]): string {
  const lines = ["ID\tSTATE\tVERIFIES UNTIL"];
  for (const k of keys) lines.push([k.id, k.current ? "current (signs new links)" : "retiring", k.retires_at ?? "-"].join("\t"));
  return lines.join("\n") + "\n";
}

export async function trackingCommand(args: ParsedArgs, config: Config, io: Out): Promise<number> {
  const [, sub, ...rest] = args.positionals;
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (sub !== "keys" && sub !== "rotate-key") throw new UsageError('tracking needs a subcommand: "keys" or "rotate-key"');
  const store = await connectStore(storeTarget(config.storage));
  try {
    if (sub === "keys") {
      io.out(table(keyViews(await ensureKeyring(store))));
      return 0;
    }
    let ring: Awaited<ReturnType<typeof rotateStoredKeyring>>;
    try {
      ring = await rotateStoredKeyring(store, config.tracking.key_verify_for);
    } catch (err) {
      if (!(err instanceof KeyringError)) throw err;
      io.err(`hookd: ${err.message}\n`);
      return 1;
    }
    io.err(
      `rotated: key ${ring.currentId} signs new links; the previous key verifies for ${formatDuration(config.tracking.key_verify_for)} more (tracking.key_verify_for)\n`,
    );
    io.out(table(keyViews(ring)));
    return 0;
  } finally {
    await store.close();
  }
}
