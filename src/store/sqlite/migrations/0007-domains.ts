// Verified domains (Copernica's model): a domain proves itself once by a TXT record
// hookd-verification=<token> on its own name; every dns_txt webhook on it or a subdomain is
// then active without a record of its own. verified_at NULL: still pending.
export const sql = /* sql */ `
CREATE TABLE domains (
  domain TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  verified_at INTEGER,
  last_checked_at INTEGER,
  created_at INTEGER NOT NULL
);
`;
