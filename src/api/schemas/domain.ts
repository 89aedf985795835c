import { z } from "zod";

// Verified domains (Copernica's model): one TXT record proves a domain for every dns_txt
// webhook on it or under it.

export const DomainName = z.string().trim().min(1, "is required").max(253, "at most 253 characters").meta({
  description: "A domain name; its subdomains are covered too. Stored lower-case, without a trailing dot.",
  example: "example.com",
});

export const DomainCreate = z.strictObject({ domain: DomainName }).meta({ id: "DomainCreate" });

export const DomainParam = z.object({
  domain: z
    .string()
    .min(1)
    .max(253)
    .meta({ param: { name: "domain", in: "path" }, example: "example.com" }),
});

export const DomainStatus = z.enum(["pending", "verified"]);

export const DomainView = z
  .object({
    domain: z.string(),
    status: DomainStatus.meta({
      description: "pending until the TXT record is found (POST …/verify, or the periodic check every verification.dns_interval).",
    }),
    txt_record: z
      .object({ name: z.string().meta({ description: "Where to publish it: the domain's own name." }), value: z.string() })
      .meta({
        description: "The TXT record that verifies the domain.",
        example: { name: "example.com", value: "hookd-verification=3q2-7wQ8kZ_x1c9d0eFgHiJk" },
      }),
    created: z.string(),
    verified: z.string().nullable().meta({ description: "When the record was found." }),
    last_checked: z.string().nullable().meta({ description: "The last lookup, by the API or the periodic check." }),
  })
  .meta({ id: "Domain" });
export type DomainView = z.infer<typeof DomainView>;
