import { domainTxtPublished, newDnsToken, TXT_PREFIX } from "../deliver/verify.ts";
import { ServiceError } from "../lib/errors.ts";
import type { DomainRow } from "../store/driver.ts";
import { targetHost } from "../store/hosts.ts";
import type { WebhookDeps } from "./context.ts";

// Verified domains, as Copernica has them: a domain proves itself once with a TXT record on
// its own name, and every dns_txt webhook whose target is on it or under it is active
// without a record of its own — at create when the domain is verified already, or when it
// becomes verified (here, or by the periodic DNS check in deliver/dns-verifier.ts).

type Deps = Pick<WebhookDeps, "store" | "config" | "log" | "now" | "notifyEvents">;

export type TxtRecord = { name: string; value: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The domain as stored: lower-case, no trailing dot, international names in their ASCII
 * (punycode) form; null when it is no domain name (an IP address, a URL, a stray character).
 */
export function normalizeDomain(input: string): string | null {
  const raw = input.trim().toLowerCase().replace(/\.$/, "");
  if (!raw || /[\s/:@?#[\]\\%]/.test(raw)) return null;
  let host: string;
  try {
    host = new URL(`http://${raw}/`).hostname;
  } catch {
    return null;
  }
  if (host.length > 253 || /^[\d.]+$/.test(host)) return null;
  return host.split(".").every((label) => LABEL.test(label)) ? host : null;
}

function requireDomainName(input: string): string {
  const domain = normalizeDomain(input);
  if (domain) return domain;
  throw new ServiceError({
    message: `domain: expected a domain name like example.com, got ${JSON.stringify(input)}`,
    field: "domain",
    code: "invalid_value",
  });
}

function domainNotFound(domain: string): ServiceError {
  return new ServiceError({ message: `no domain "${domain}"; add it with POST /domains first`, field: "domain", code: "not_found" });
}

/** What the owner publishes: TXT on the domain's own name. */
export function txtRecord(d: Pick<DomainRow, "domain" | "token">): TxtRecord {
  return { name: d.domain, value: TXT_PREFIX + d.token };
}

/** A new pending domain and its token; 409 when it is listed already. */
export async function addDomain(deps: Deps, input: string): Promise<DomainRow> {
  const domain = requireDomainName(input);
  const row = await deps.store.domains.insert({ domain, token: newDnsToken(), createdAt: deps.now() });
  if (!row) throw new ServiceError({ message: `domain "${domain}" is listed already`, field: "domain", code: "conflict" });
  deps.log.info("domain added", { domain });
  return row;
}

/** By name. */
export function listDomains(deps: Pick<Deps, "store">): Promise<DomainRow[]> {
  return deps.store.domains.list();
}

/**
 * Looks the TXT record up now. Found: the domain is verified and so is every pending
 * dns_txt webhook on it. Not found: a verification_failed error saying what DNS answered.
 * A verified domain stays verified (its webhooks proved themselves already).
 */
export async function verifyDomain(deps: Deps, input: string): Promise<DomainRow> {
  const domain = requireDomainName(input);
  const row = await deps.store.domains.get(domain);
  if (!row) throw domainNotFound(domain);
  if (row.verifiedAt !== null) return row;
  const check = await domainTxtPublished(domain, row.token, deps.config.verification.dns_servers);
  const at = deps.now();
  if (!check.published) {
    await deps.store.domains.markChecked(domain, at);
    throw new ServiceError({ message: `domain ${domain} is not verified: ${check.reason}`, field: "domain", code: "verification_failed" });
  }
  const { domain: verified, activated } = await deps.store.domains.verify(domain, at);
  // Verified meanwhile by the periodic check, or deleted: what is stored now is the answer.
  const now = verified ?? (await deps.store.domains.get(domain));
  if (!now) throw domainNotFound(domain);
  deps.log.info("domain verified", { domain, webhooks_activated: activated });
  if (activated.length) deps.notifyEvents();
  return now;
}

/** Forgets the domain. Webhooks it activated stay active; pending ones wait for their own record. */
export async function removeDomain(deps: Pick<Deps, "store" | "log">, input: string): Promise<void> {
  const domain = requireDomainName(input);
  if (!(await deps.store.domains.delete(domain))) throw domainNotFound(domain);
  deps.log.info("domain removed", { domain });
}

/** The verified domain that stands for a dns_txt webhook on this target, if any. */
export function verifiedDomainFor(deps: Pick<Deps, "store">, target: string): Promise<DomainRow | undefined> {
  return deps.store.domains.verifiedCovering(targetHost(target));
}
