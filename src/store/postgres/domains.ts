import type { DomainStore } from "../contract/admin.ts";
import { hostOnDomain, targetHost } from "../hosts.ts";
import type { DomainRow } from "../rows.ts";
import type { PgContext } from "./context.ts";
import { DOMAIN_COLUMNS, fromPg } from "./row-map.ts";

// Verified domains on PostgreSQL, as on SQLite (sqlite/domains.ts): a domain covers its own
// name and every name under it (../hosts.ts). Names sort as SQLite's BINARY collation does
// (COLLATE "C"), whatever the database's locale.

const row = (raw: Record<string, unknown>): DomainRow => fromPg(DOMAIN_COLUMNS, "domains", raw);

export function domainStore({ sql }: PgContext): DomainStore {
  return {
    async insert(d) {
      const [r] = await sql`INSERT INTO domains (domain, token, created_at) VALUES (${d.domain}, ${d.token}, ${d.createdAt})
        ON CONFLICT (domain) DO NOTHING RETURNING *`;
      return r ? row(r) : undefined;
    },

    async get(domain) {
      const [r] = await sql`SELECT * FROM domains WHERE domain = ${domain}`;
      return r ? row(r) : undefined;
    },

    async list() {
      return (await sql`SELECT * FROM domains ORDER BY domain COLLATE "C"`).map(row);
    },

    async listPending() {
      return (await sql`SELECT * FROM domains WHERE verified_at IS NULL ORDER BY domain COLLATE "C"`).map(row);
    },

    async delete(domain) {
      return (await sql`DELETE FROM domains WHERE domain = ${domain} RETURNING domain`).length > 0;
    },

    async markChecked(domain, at) {
      await sql`UPDATE domains SET last_checked_at = ${at} WHERE domain = ${domain}`;
    },

    async verifiedCovering(host) {
      // hostOnDomain in SQL: the name itself, or a name ending in "." + the domain; the longest wins.
      const [r] = await sql`SELECT * FROM domains
        WHERE verified_at IS NOT NULL AND (domain = ${host} OR right(${host}::text, length(domain) + 1) = '.' || domain)
        ORDER BY length(domain) DESC LIMIT 1`;
      return r ? row(r) : undefined;
    },

    verify(domain, at) {
      return sql.begin(async (tx) => {
        const [d] = await tx`UPDATE domains SET verified_at = ${at}, last_checked_at = ${at}
          WHERE domain = ${domain} AND verified_at IS NULL RETURNING *`;
        if (!d) return { domain: undefined, activated: [] };
        // The pending dns_txt webhooks, locked: an edit of one (its target, its verification)
        // waits for this transaction, and one made before it is seen here. Which of them are
        // on the domain is decided by their target's host, parsed as the service parses it.
        const pending = await tx`SELECT id, target FROM webhooks WHERE verification = 'dns_txt' AND verified_at IS NULL
          ORDER BY created_at, id COLLATE "C" FOR UPDATE`;
        const activated = (pending as { id: string; target: string }[])
          .filter((w) => hostOnDomain(targetHost(w.target), domain))
          .map((w) => w.id);
        if (activated.length) {
          // Their version moves (as webhooks.ts update does) so that the engine sees them changed.
          await tx`UPDATE webhooks SET verified_at = ${at}, verification_state = NULL, updated_at = GREATEST(${at}::bigint, updated_at + 1)
            WHERE id = ANY(${sql.array(activated, "TEXT")}::text[])`;
        }
        return { domain: row(d), activated };
      });
    },
  };
}
