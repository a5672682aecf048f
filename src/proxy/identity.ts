type Headers = Record<string, string | string[] | undefined>;
import type { MarketplaceUser } from '../core/identity';

/** Headers that only koogate may set; copies sent by clients are always removed. */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set(['x-forwarded-user', 'x-forwarded-tenant', 'x-forwarded-email', 'x-forwarded-name', 'x-forwarded-role']);

/**
 * True for a (lower-case) client header that never reaches the app: the identity headers and any
 * X-Koogate-*, and look-alikes of them or of the forwarding headers that spell `-` as `_`
 * (`X_Forwarded_User`, `X-Forwarded_For`): CGI, WSGI, Rack and PHP read those as the real ones.
 */
export function isIdentityHeader(name: string): boolean {
  if (name.indexOf('_') < 0) return IDENTITY_HEADERS.has(name) || name.startsWith('x-koogate-');
  const folded = name.replace(/_/g, '-');
  return IDENTITY_HEADERS.has(folded) || folded.startsWith('x-koogate-') || folded.startsWith('x-forwarded-') || folded === 'forwarded' || folded === 'x-real-ip';
}

/** Visible ASCII except `%`: kept as it is in an identity header value. */
const HEADER_SAFE = /^[\x21-\x24\x26-\x7e]*$/;

/**
 * An identity value as visible ASCII, whatever the marketplace sent: every UTF-8 byte outside visible
 * ASCII, and `%` itself, percent-encoded, so `decodeURIComponent` gives the value back. A lone UTF-16
 * surrogate (no character at all) becomes U+FFFD. CR, LF, NUL and raw Latin-1 can never reach a header.
 */
export function headerSafe(value: string): string {
  if (HEADER_SAFE.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

/**
 * A user's identity headers, the one place where identity values become header values: each made
 * header-safe here, so sessions stored before this rule (or with any value the marketplace can send) are
 * covered too. Built once per user object (the session cache hands out the same object).
 */
const built = new WeakMap<MarketplaceUser, Record<string, string>>();

export function identityHeaders(user: MarketplaceUser): Record<string, string> {
  let h = built.get(user);
  if (h) return h;
  h = { 'x-forwarded-user': headerSafe(user.userName), 'x-forwarded-tenant': headerSafe(user.tenantId) };
  if (user.email) h['x-forwarded-email'] = headerSafe(user.email);
  h['x-forwarded-name'] = headerSafe(user.name ?? user.userName);
  if (user.role) h['x-forwarded-role'] = headerSafe(user.role);
  built.set(user, h);
  return h;
}

/** Removes koogate's own cookies from the Cookie header so the app never sees them. */
export function stripCookies(headers: Headers, names: readonly string[]): void {
  const cookie = headers.cookie;
  if (!cookie || typeof cookie !== 'string' || !names.some((n) => cookie.includes(n))) return;
  const kept = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !names.includes(c.slice(0, Math.max(0, c.indexOf('='))).trim()));
  if (kept.length === 0) delete headers.cookie;
  else headers.cookie = kept.join('; ');
}
