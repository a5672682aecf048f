const BASE = 'http://koogate.invalid';

/** Control characters, and `\`, which browsers read as `/` and drop or mangle inside URLs. */
const UNSAFE_CHARS = /[\\\u0000-\u001f\u007f]/;

/**
 * True when `location`, exactly as it will be sent, keeps the browser on koogate's origin: a path that
 * does not start with `//` or `/\`, carries no scheme and no control character. Every same-origin
 * redirect and link koogate writes is checked in this final form.
 */
export function isSameOriginPath(location: string): boolean {
  if (location.charCodeAt(0) !== 0x2f || location.startsWith('//') || UNSAFE_CHARS.test(location)) return false;
  let url: URL;
  try {
    url = new URL(location, BASE);
  } catch {
    return false;
  }
  return url.origin === BASE;
}

/**
 * Accepts only a same-origin relative path as a post-login target; anything else becomes `/`.
 * Rejects scheme-relative (`//evil`), backslash tricks (`/\evil`), control characters and encoded
 * variants that browsers would turn into another origin, and koogate's own routes (no loops). Dot
 * segments are resolved first and the result is checked again, so `/.//evil` cannot end as `//evil`.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/';
  if (!isSameOriginPath(value)) return '/';
  let decoded = value;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return '/';
  }
  if (decoded.startsWith('//') || UNSAFE_CHARS.test(decoded)) return '/';
  const url = new URL(value, BASE);
  if (url.pathname === '/_koogate' || url.pathname.startsWith('/_koogate/')) return '/';
  const resolved = url.pathname + url.search + url.hash;
  return isSameOriginPath(resolved) && !decodeURIComponentOr(resolved, '//').startsWith('//') ? resolved : '/';
}

function decodeURIComponentOr(s: string, fallback: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return fallback;
  }
}

/**
 * The tenant's marketplace page `url` (the logout), accepted only when it is an http(s) URL on the
 * origin of the tenant's identity domain, as the protocol sends the browser there; null otherwise.
 */
export function marketplaceRedirect(url: string, identityDomain: string): string | null {
  try {
    const target = new URL(url);
    const domain = new URL(identityDomain);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') return null;
    if (target.origin !== domain.origin || target.username || target.password) return null;
    return target.toString();
  } catch {
    return null;
  }
}
