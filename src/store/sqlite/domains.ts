import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import { hostOnDomain, targetHost } from "../hosts.ts";
import type { DomainRow } from "../rows.ts";
import type { Drizzle } from "./db.ts";
import { domains, webhooks } from "./schema.ts";

// Verified domains and what their verification does to dns_txt webhooks, in SQL. A domain
// covers its own name and every name under it (../hosts.ts).

/** The new row, or undefined when the domain is listed already. */
export function insertDomain(db: Drizzle, row: Pick<DomainRow, "domain" | "token" | "createdAt">): DomainRow | undefined {
  return db.insert(domains).values(row).onConflictDoNothing().returning().get();
}

export function getDomain(db: Drizzle, domain: string): DomainRow | undefined {
  return db.select().from(domains).where(eq(domains.domain, domain)).get();
}

/** By name. */
export function listDomains(db: Drizzle): DomainRow[] {
  return db.select().from(domains).orderBy(asc(domains.domain)).all();
}

export function listPendingDomains(db: Drizzle): DomainRow[] {
  return db.select().from(domains).where(isNull(domains.verifiedAt)).orderBy(asc(domains.domain)).all();
}

export function deleteDomain(db: Drizzle, domain: string): boolean {
  return db.delete(domains).where(eq(domains.domain, domain)).returning({ domain: domains.domain }).all().length > 0;
}

export function markDomainChecked(db: Drizzle, domain: string, at: number): void {
  db.update(domains).set({ lastCheckedAt: at }).where(eq(domains.domain, domain)).run();
}

/** The verified domain that covers `host` (the most specific, if several do), if any. */
export function verifiedDomainCovering(db: Drizzle, host: string): DomainRow | undefined {
  const verified = db.select().from(domains).where(isNotNull(domains.verifiedAt)).all();
  return verified.filter((d) => hostOnDomain(host, d.domain)).sort((a, b) => b.domain.length - a.domain.length)[0];
}

/**
 * Marks the domain verified and, in the same transaction, every dns_txt webhook still
 * pending on it or a subdomain; their own TXT tokens are no longer needed. Returns the ids
 * of the webhooks it activated (none when the domain is gone or was verified already).
 */
export function verifyDomainRow(db: Drizzle, domain: string, at: number): { domain: DomainRow | undefined; activated: string[] } {
  return db.transaction((tx) => {
    const row = tx
      .update(domains)
      .set({ verifiedAt: at, lastCheckedAt: at })
      .where(and(eq(domains.domain, domain), isNull(domains.verifiedAt)))
      .returning()
      .get();
    if (!row) return { domain: undefined, activated: [] };
    const pending = tx
      .select({ id: webhooks.id, target: webhooks.target })
      .from(webhooks)
      .where(and(eq(webhooks.verification, "dns_txt"), isNull(webhooks.verifiedAt)))
      .all()
      .filter((w) => hostOnDomain(targetHost(w.target), domain));
    for (const w of pending)
      tx.update(webhooks).set({ verifiedAt: at, verificationState: null, updatedAt: at }).where(eq(webhooks.id, w.id)).run();
    return { domain: row, activated: pending.map((w) => w.id) };
  });
}
