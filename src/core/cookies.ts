/**
 * One cookie's value from a Cookie header, percent-decoded (kept as sent when it is not valid
 * percent-encoding); the first of several with the same name wins. koogate's session and login-transaction
 * cookies, and the stand-in marketplace's and demo app's, are all read here.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }
  }
  return undefined;
}
