/**
 * The request target as koogate routes, matches and forwards it. Parsing never throws: whatever cannot be
 * read as a path is null, and the caller answers 400.
 */
export interface RequestTarget {
  /** The resolved path: dot segments (also `%2e`) removed, `\` read as `/`. Own routes and public paths are matched on it. */
  path: string;
  /** What is forwarded: the resolved path and the query. */
  url: string;
  /**
   * False when the resolved path still holds something that servers read in different ways: `;` path
   * parameters, or an encoded `/`, `\`, `.` or `%`. Such a path is never public (http/public-paths.ts).
   */
  plain: boolean;
}

const BASE = 'http://koogate.invalid';
/** Dot segments, backslashes, percent-escapes, path parameters and bytes outside visible ASCII need the full resolution. */
const NEEDS_RESOLVING = /[%\\;\u0000-\u0020\u007f-\uffff]|\/\./;
/** What servlet containers, IIS and nginx variants may still decode or strip after koogate's resolution. */
const AMBIGUOUS = /;|%(?:2f|5c|2e|25)/i;
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

export function parseTarget(raw: string): RequestTarget | null {
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  // The usual case, kept cheap: a plain origin-form path.
  if (rawPath.charCodeAt(0) === 0x2f && !NEEDS_RESOLVING.test(rawPath)) return { path: rawPath, url: raw, plain: true };
  let u: URL;
  try {
    if (rawPath.charCodeAt(0) === 0x2f) {
      // Appended to a fixed origin, `//host/x` stays a path (new URL('//host/x', base) would read a host, and throw on a bad one).
      u = new URL(BASE + raw);
    } else if (ABSOLUTE_FORM.test(raw)) {
      // Absolute form (RFC 9112 §3.2.2): only its path and query are used; the app is always koogate's upstream.
      u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    } else {
      // Authority form (CONNECT), asterisk form (OPTIONS *), or garbage: nothing koogate serves.
      return null;
    }
  } catch {
    return null;
  }
  const path = u.pathname;
  if (path.charCodeAt(0) !== 0x2f) return null;
  return { path, url: path + u.search, plain: !AMBIGUOUS.test(path) };
}
