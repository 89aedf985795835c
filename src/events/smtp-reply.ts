// Scanners of an SMTP reply text, for the log parsers and the bounce classifier alike.

const DSN = /(?:^|[\s#(])([245]\.\d{1,3}\.\d{1,3})(?=$|[\s),;:])/;

/** The first enhanced status code ("5.1.1") in a reply text. */
export function findDsn(text: string): string | undefined {
  return DSN.exec(text)?.[1];
}

/** The 3-digit SMTP reply code of a reply text, at its start or after "said: ". */
export function findSmtpCode(text: string): number | undefined {
  let i = 0;
  const said = text.indexOf("said: ");
  if (said !== -1) i = said + 6;
  else {
    const m = /(?:^|: )([245]\d\d)[ -]/.exec(text);
    return m ? Number(m[1]) : undefined;
  }
  const c = text.charCodeAt(i);
  if (c < 50 || c > 53) return undefined;
  const code = Number(text.slice(i, i + 3));
  return Number.isInteger(code) ? code : undefined;
}
