type Headers = Record<string, string | string[] | undefined>;
import type { MarketplaceUser } from '../core/identity';

/** Headers that only koogate may set; copies sent by clients are always removed. */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set(['x-forwarded-user', 'x-forwarded-tenant', 'x-forwarded-email', 'x-forwarded-name', 'x-forwarded-role']);

/** True for a (lower-case) header name only koogate may send: the identity headers and any X-Koogate-*. */
export const isIdentityHeader = (name: string): boolean => IDENTITY_HEADERS.has(name) || name.startsWith('x-koogate-');

/** A user's identity headers, built once per user object (the session cache hands out the same object). */
const built = new WeakMap<MarketplaceUser, Record<string, string>>();

export function identityHeaders(user: MarketplaceUser): Record<string, string> {
  let h = built.get(user);
  if (h) return h;
  h = { 'x-forwarded-user': user.userName, 'x-forwarded-tenant': user.tenantId };
  if (user.email) h['x-forwarded-email'] = user.email;
  // Display names are often Chinese; header values must stay ASCII.
  h['x-forwarded-name'] = encodeURIComponent(user.name ?? user.userName);
  if (user.role) h['x-forwarded-role'] = user.role;
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
