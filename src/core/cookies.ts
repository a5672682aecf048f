/**
 * One cookie's value from a Cookie header, percent-decoded (kept as sent when it is not valid
 * percent-encoding); the first of several with the same name wins. koogate's session and login-transaction
 * cookies, and the stand-in marketplace's and demo app's, are all read here.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  // One pass over the header by index: no array of parts, and a part's name is cut out only when it
  // can be this one (it holds the name); on every proxied request this is the whole cookie parse.
  for (let start = 0; start <= header.length; ) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq >= 0 && eq < end && eq - start >= name.length) {
      const key = header.slice(start, eq);
      if (key.includes(name) && key.trim() === name) {
        const v = header.slice(eq + 1, end).trim();
        if (!v.includes('%')) return v;
        try {
          return decodeURIComponent(v);
        } catch {
          return v;
        }
      }
    }
    start = end + 1;
  }
  return undefined;
}
