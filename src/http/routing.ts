import type { IncomingHttpHeaders } from 'node:http';
import type { RequestTarget } from './request-target';

/**
 * The gateway's routing decisions (http/gateway.ts), as pure functions of what a request says: which
 * requests are koogate's own, which are CORS preflights, what a request without a session gets, and
 * which upgrades go on to the session check. They return names, never objects: this runs on every
 * proxied request.
 */

export interface RoutingRules {
  /** KOOGATE_PRODUCE_PATH: the production address, where basic calls and kit calls arrive. */
  producePath: string;
  /** KOOGATE_CORS_ORIGINS: origins whose preflights are answered without a session. */
  corsOrigins: readonly string[];
}

/**
 * koogate's own paths, answered by express (http/app.ts) and never forwarded: everything under
 * /_koogate/, kit calls at the root (/produceAPI/…), and the production address itself with the kit calls
 * under it. Anything else beside the production address (`<producePath>/x`) is the app's.
 */
export function isOwnPath(path: string, producePath: string): boolean {
  const p = producePath;
  return path.startsWith('/_koogate/') || path === '/_koogate' || path.startsWith('/produceAPI/') || path === p || path === `${p}/` || path.startsWith(`${p}/produceAPI/`);
}

/**
 * What a plain HTTP request is, before any session is looked at:
 * - `bad-target`: no path koogate can read (answered 400);
 * - `own`: koogate's own route;
 * - `preflight`: a CORS preflight from an allowed origin (answered without a session, which it never carries);
 * - `session`: everything else, for the app once the session check has said who the user is.
 */
export type RequestRoute = 'bad-target' | 'own' | 'preflight' | 'session';

export function routeRequest(target: RequestTarget | null, method: string | undefined, headers: IncomingHttpHeaders, rules: RoutingRules): RequestRoute {
  if (!target) return 'bad-target';
  if (isOwnPath(target.path, rules.producePath)) return 'own';
  if (method === 'OPTIONS' && headers['access-control-request-method'] !== undefined && corsAllowed(headers.origin, rules.corsOrigins)) return 'preflight';
  return 'session';
}

/** Whether `origin` may read koogate's answers (CORS), so a front end elsewhere sees the 401 and its login_url. */
export function corsAllowed(origin: string | undefined, corsOrigins: readonly string[]): origin is string {
  return origin !== undefined && origin !== '' && corsOrigins.includes(origin);
}

/**
 * A request to the app with no live session (none, or one that just ended):
 * - `public`: a public path (KOOGATE_PUBLIC_PATHS), forwarded without identity;
 * - `login`: a page navigation by GET or HEAD, redirected to the login and back;
 * - `refuse`: anything else, the session-expired answer (a page for other navigations, such as a form
 *   post, since a redirect would lose its method; 401 JSON for APIs and upgrades).
 */
export type AnonymousRoute = 'public' | 'login' | 'refuse';

export function routeAnonymous(isPublic: boolean, method: string | undefined, navigation: boolean): AnonymousRoute {
  if (isPublic) return 'public';
  return navigation && (method === 'GET' || method === 'HEAD') ? 'login' : 'refuse';
}

/**
 * Where a refused request's login brings the user back: the address itself for GET and HEAD; for other
 * methods (a form's post) the page that held the form, when the Referer is on this request's own host.
 */
export function returnAfterLogin(method: string | undefined, targetUrl: string, headers: IncomingHttpHeaders): string {
  if (method === 'GET' || method === 'HEAD') return targetUrl;
  return sameHostReferer(headers) ?? targetUrl;
}

/** The path and query of a Referer on this request's own host, or undefined. */
function sameHostReferer(headers: IncomingHttpHeaders): string | undefined {
  const referer = headers.referer;
  if (!referer || !headers.host) return undefined;
  try {
    const u = new URL(referer);
    return u.host === headers.host ? u.pathname + u.search : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What an upgrade (a websocket) is, before any session is looked at:
 * - `bad-target`: no readable path (400 on the raw socket);
 * - `own`: a koogate path, where nothing upgrades (404);
 * - `foreign-origin`: an Origin not among the allowed ones (403: cross-site websocket hijacking; a browser
 *   always names the page's origin, so no Origin at all is no browser, and goes on);
 * - `session`: on to the session check, then the app.
 */
export type UpgradeRoute = 'bad-target' | 'own' | 'foreign-origin' | 'session';

export function routeUpgrade(target: RequestTarget | null, origin: string | undefined, producePath: string, wsOrigins: ReadonlySet<string>): UpgradeRoute {
  if (!target) return 'bad-target';
  if (isOwnPath(target.path, producePath)) return 'own';
  if (origin !== undefined && !wsOrigins.has(origin)) return 'foreign-origin';
  return 'session';
}
