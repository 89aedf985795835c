// Which names a verified domain covers: its own and every name under it (example.com covers
// hooks.example.com, never evil-example.com). Pure; the drivers' domain queries and the
// webhook service use the same rule.

/** The target URL's host name, lower-case, without a trailing dot. */
export function targetHost(target: string): string {
  return new URL(target).hostname.toLowerCase().replace(/\.$/, "");
}

/** Whether `host` is `domain` or a name under it (both lower-case, without trailing dots). */
export function hostOnDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}
