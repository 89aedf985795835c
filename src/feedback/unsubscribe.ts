import { emailIn, first } from "./fields.ts";
import type { Mail } from "./mail.ts";
import type { Envelope, ReportMeta, TokenAddress, UnsubscribeReport } from "./types.ts";

// The addresses hookd hands out and reads back: the VERP envelope sender the milter sets,
// bounces+<token>@<verp domain>, and the List-Unsubscribe mailto address,
// unsubscribe+<token>@<verp domain>. Both are built and read here so that the milter and this
// parser agree on one form. The tokens are verified elsewhere (track/tokens.ts, injected).

export interface AddressForms {
  /** Local part before "+<token>" of the VERP sender; default "bounces". */
  verpPrefix: string;
  /** Local part before "+<token>" of the unsubscribe address; default "unsubscribe". */
  unsubscribePrefix: string;
  /** When set, only addresses at this domain count (case-insensitive). */
  domain?: string;
}

export const DEFAULT_FORMS: AddressForms = { verpPrefix: "bounces", unsubscribePrefix: "unsubscribe" };

// Base64url, base32 and dotted key-id forms all fit; anything else is not one of our tokens.
const TOKEN = /^[A-Za-z0-9._~=-]{1,512}$/;

export function verpAddress(token: string, domain: string, forms: AddressForms = DEFAULT_FORMS): string {
  return `${forms.verpPrefix}+${token}@${domain}`;
}

export function unsubscribeAddress(token: string, domain: string, forms: AddressForms = DEFAULT_FORMS): string {
  return `${forms.unsubscribePrefix}+${token}@${domain}`;
}

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
