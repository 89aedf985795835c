// The addresses hookd hands out in mail and reads back from it (pure): the VERP envelope
// sender the milter sets, bounces+<token>@<verp domain>, and the List-Unsubscribe mailto
// address, unsubscribe+<token>@<verp domain>. Built here, below both the milter's wiring
// (track/) and the feedback parser, so that both agree on one form. The tokens themselves
// are track/mail-tokens.ts's.

export interface AddressForms {
  /** Local part before "+<token>" of the VERP sender; default "bounces". */
  verpPrefix: string;
  /** Local part before "+<token>" of the unsubscribe address; default "unsubscribe". */
  unsubscribePrefix: string;
  /** When set, only addresses at this domain count (case-insensitive). */
  domain?: string;
}

export const DEFAULT_FORMS: AddressForms = { verpPrefix: "bounces", unsubscribePrefix: "unsubscribe" };

export function verpAddress(token: string, domain: string, forms: AddressForms = DEFAULT_FORMS): string {
  return `${forms.verpPrefix}+${token}@${domain}`;
}

export function unsubscribeAddress(token: string, domain: string, forms: AddressForms = DEFAULT_FORMS): string {
  return `${forms.unsubscribePrefix}+${token}@${domain}`;
}
