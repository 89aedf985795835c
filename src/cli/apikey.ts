import type { Config } from "../config/schema.ts";
import { SCOPES, type Scope } from "../store/api-keys.ts";
import { connectStore, storeTarget } from "../store/open.ts";
import { flag, UsageError, type ParsedArgs } from "./args.ts";

type Out = { out: (s: string) => void; err: (s: string) => void };

function parseScopes(text: string): Scope[] {
  const scopes = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length || scopes.length === 0) {
    throw new UsageError(`--scopes: expected scopes from ${SCOPES.join(", ")}, got "${text}"`);
  }
  return [...new Set(scopes)] as Scope[];
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

export async function apikeyCommand(args: ParsedArgs, config: Config, io: Out): Promise<number> {
  const [, sub, ...rest] = args.positionals;
  if (sub === "create") {
    const name = flag(args, "--name");
    const scopesText = flag(args, "--scopes");
    if (!name) throw new UsageError("apikey create needs --name N");
    if (!scopesText) throw new UsageError(`apikey create needs --scopes S[,S] (from ${SCOPES.join(", ")})`);
    const scopes = parseScopes(scopesText);
    if (name.length > 255) throw new UsageError("--name: at most 255 characters");
    const store = await connectStore(storeTarget(config.storage));
    try {
      const { key, info } = await store.keys.create(name, scopes, Date.now());
      io.err(`created API key ${info.id} "${name}" with scopes ${scopes.join(",")}; it is shown this once:\n`);
      io.out(key + "\n");
    } finally {
      await store.close();
    }
    return 0;
  }
  if (sub === "list") {
    const store = await connectStore(storeTarget(config.storage));
    try {
      const keys = await store.keys.list();
      io.out(["ID", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED"].join("\t") + "\n");
      for (const k of keys) {
        io.out([k.id, k.name, k.prefix + "…", k.scopes.join(","), iso(k.createdAt), iso(k.lastUsedAt), iso(k.revokedAt)].join("\t") + "\n");
      }
    } finally {
      await store.close();
    }
    return 0;
  }
  if (sub === "revoke") {
    const id = rest[0];
    if (!id || rest.length > 1) throw new UsageError("apikey revoke needs exactly one ID (see hookd apikey list)");
    const store = await connectStore(storeTarget(config.storage));
    try {
      if (!(await store.keys.revoke(id, Date.now()))) {
        io.err(`hookd: no active API key with id "${id}"\n`);
        return 1;
      }
      io.err(`revoked API key ${id}\n`);
    } finally {
      await store.close();
    }
    return 0;
  }
  throw new UsageError(sub ? `unknown apikey command "${sub}" (create, list, revoke)` : "apikey needs a command: create, list or revoke");
}
