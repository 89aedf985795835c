import os from "node:os";
import { z } from "zod";
import { expected, showValue } from "./errors.ts";
import { duration, nonEmpty, oneOf, section } from "./fields.ts";

// [storage]: where events, webhooks, keys and batches live. SQLite (one file, the default) or
// PostgreSQL, which a fleet of hookd nodes shares: then `url` names the database and `node`
// this node (checkpoints and leases are kept per node, so two nodes must not share a name).

export const STORAGE_DRIVERS = ["sqlite", "postgres"] as const;

/** What a problem with a storage.url is, or null: a postgres:// URL naming a host or a socket folder. */
export function postgresUrlProblem(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return "a URL like postgres://hookd:secret@db.example.com:5432/hookd";
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") return "a postgres:// or postgresql:// URL";
  if (!u.hostname) return "a URL that names the database's host (for a unix socket: localhost and ?path=/socket/file)";
  return null;
}

/** The URL as it may be shown: its password replaced. */
export function redactedUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = "********";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}

// Never echoes the value: a storage.url carries the database's password.
const url = z.string({ error: expected("a postgres:// URL") }).superRefine((text, ctx) => {
  if (text === "") return;
  const problem = postgresUrlProblem(text);
  if (problem) ctx.addIssue({ code: "custom", input: "", message: `expected ${problem}, got ${showValue(redactedUrl(text))}` });
});

const node = z
  .string({ error: expected("a node name") })
  .regex(/^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: expected("a node name of letters, digits, '.', '_' or '-' (at most 63)") });

export const storage = section({
  path: nonEmpty("a file path").default("./data/hookd.db"),
  retention: duration().default(7 * 86_400_000),
  driver: oneOf(STORAGE_DRIVERS).default("sqlite"),
  url: url.default(""),
  node: node.default(""),
})
  // Checked even when another key is wrong (`when`), so it is reported with every other mistake.
  .check(
    z.superRefine(
      (s: { driver?: unknown; url?: unknown }, ctx) => {
        if (s.driver === "postgres" && (s.url === undefined || s.url === "")) {
          ctx.addIssue({
            code: "custom",
            path: ["url"],
            input: "",
            message:
              'expected the database\'s URL, like "postgres://hookd:secret@db.example.com:5432/hookd" (required when storage.driver is "postgres"), got ""',
          });
        }
      },
      { when: (payload) => typeof payload.value === "object" && payload.value !== null },
    ),
  )
  .prefault({});

export type StorageConfig = z.output<typeof storage>;

/** How often a node writes its row in the fleet's `nodes` table. */
export const HEARTBEAT_MS = 5_000;
/** A node not seen for this long is shown as gone. */
export const NODE_GONE_MS = 3 * HEARTBEAT_MS;

/** This node's name: storage.node, or the machine's hostname. */
export function nodeName(s: Pick<StorageConfig, "node">): string {
  return s.node || os.hostname();
}
