import { emailIn, first } from "./fields.ts";
import type { Mail } from "./mail.ts";
import type { AddressForms } from "../mail/addresses.ts";
import type { Envelope, ReportMeta, TokenAddress, UnsubscribeReport } from "./types.ts";

// The addresses hookd hands out and reads back: the VERP envelope sender the milter sets,
// bounces+<token>@<verp domain>, and the List-Unsubscribe mailto address,
// unsubscribe+<token>@<verp domain>. Their forms live in mail/addresses.ts (the milter's
// wiring builds them, this parser reads them); the tokens are verified elsewhere
// (track/mail-tokens.ts, injected).
export { type AddressForms, DEFAULT_FORMS, unsubscribeAddress, verpAddress } from "../mail/addresses.ts";

// Base64url, base32 and dotted key-id forms all fit; anything else is not one of our tokens.
const TOKEN = /^[A-Za-z0-9._~=-]{1,512}$/;

/** The envelope recipients of the form `<prefix>+<token>@<domain>`, with their tokens. */
export function tokenAddresses(rcptTo: readonly string[], prefix: string, domain?: string): TokenAddress[] {
  const out: TokenAddress[] = [];
  const lead = `${prefix.toLowerCase()}+`;
  for (const raw of rcptTo.slice(0, 100)) {
    const address = raw.trim().replace(/^<|>$/g, "");
    const at = address.lastIndexOf("@");
    if (at <= 0) continue;
    const local = address.slice(0, at);
    if (!local.toLowerCase().startsWith(lead)) continue;
    if (domain && address.slice(at + 1).toLowerCase() !== domain.toLowerCase()) continue;
    const token = local.slice(lead.length);
    if (TOKEN.test(token)) out.push({ address, token });
  }
  return out;
}

/**
 * Mail sent to the unsubscribe address: whatever its body says (clients write "unsubscribe", or
 * nothing), the address and its token are the request. Undefined when no recipient is one.
 */
export function parseUnsubscribe(
  mail: Mail,
  envelope: Envelope,
  report: ReportMeta,
  verp: TokenAddress[],
  forms: AddressForms,
): UnsubscribeReport | undefined {
  const target = tokenAddresses(envelope.rcptTo, forms.unsubscribePrefix, forms.domain)[0];
  if (!target) return undefined;
  const u: UnsubscribeReport = { kind: "unsubscribe", report, verp, address: target.address, token: target.token };
  const sender = emailIn(first(mail.headers, "from")) ?? emailIn(envelope.mailFrom);
  if (sender) u.sender = sender;
  return u;
}
