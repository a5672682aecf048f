type Headers = Record<string, string | string[] | undefined>;
import type { MarketplaceUser } from '../marketplace/oauth';

/** Headers that only koogate may set; copies sent by clients are always removed. */
export const IDENTITY_HEADERS = ['x-forwarded-user', 'x-forwarded-tenant', 'x-forwarded-email', 'x-forwarded-name', 'x-forwarded-role'] as const;

export function stripIdentity(headers: Headers): void {
  for (const h of IDENTITY_HEADERS) delete headers[h];
  for (const h of Object.keys(headers)) if (h.startsWith('x-koogate-')) delete headers[h];
}

export function setIdentity(headers: Headers, user: MarketplaceUser): void {
  headers['x-forwarded-user'] = user.userName;
  headers['x-forwarded-tenant'] = user.tenantId;
  if (user.email) headers['x-forwarded-email'] = user.email;
  // Display names are often Chinese; header values must stay ASCII.
  const name = user.name ?? user.userName;
  headers['x-forwarded-name'] = encodeURIComponent(name);
  if (user.role) headers['x-forwarded-role'] = user.role;
}

/** Removes koogate's own cookies from the Cookie header so the app never sees them. */
export function stripCookies(headers: Headers, names: readonly string[]): void {
  const cookie = headers.cookie;
  if (!cookie || typeof cookie !== 'string') return;
  const kept = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !names.includes(c.slice(0, Math.max(0, c.indexOf('='))).trim()));
  if (kept.length === 0) delete headers.cookie;
  else headers.cookie = kept.join('; ');
}
