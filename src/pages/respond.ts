import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeReturnTo } from './return-to';
import { KoogateError, type ErrorCode } from '../core/errors';
import { ERROR_TEXT, pickLang, UI_TEXT } from './messages';
import type { Views } from './views';

/**
 * A top-level HTML navigation, the only kind of request that is redirected to login or shown a page.
 * fetch/XHR, subresources and API clients get JSON instead.
 */
export function isPageNavigation(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined && mode !== 'navigate') return false;
  const dest = req.headers['sec-fetch-dest'];
  if (dest !== undefined && dest !== 'document') return false;
  if (String(req.headers['x-requested-with'] ?? '').toLowerCase() === 'xmlhttprequest') return false;
  return String(req.headers.accept ?? '').includes('text/html');
}

export const loginPath = (returnTo: string) => `/_koogate/login?returnTo=${encodeURIComponent(returnTo)}`;

export interface ErrorResponseOptions {
  returnTo?: string;
  /** Extra headers (CORS, Set-Cookie) to send with the error. */
  headers?: Record<string, string | string[]>;
}

/** The one place where koogate errors become HTTP answers: a page for navigations, JSON otherwise. */
export function sendError(req: IncomingMessage, res: ServerResponse, views: Views, err: KoogateError, opts: ErrorResponseOptions = {}): void {
  const lang = pickLang(req);
  const text = ERROR_TEXT[err.code][lang];
  const ui = UI_TEXT[lang];
  // The request path is the page's way back: checked in the form it is written into the link.
  const returnTo = safeReturnTo(opts.returnTo ?? '/');
  res.statusCode = err.status;
  for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
  res.setHeader('Cache-Control', 'no-store');
  if (err.status === 503) res.setHeader('Retry-After', '5');
  const own = (req.url ?? '').startsWith('/_koogate/');
  if (isPageNavigation(req) || (own && !String(req.headers.accept ?? '').includes('application/json'))) {
    const signIn = err.status === 401 || err.status === 400 || err.code === 'KOOGATE_USERINFO_INVALID';
    const html = views.render('error', {
      lang: lang === 'zh' ? 'zh-CN' : 'en',
      title: text.title,
      message: text.message,
      code: err.code,
      codeLabel: ui.codeLabel,
      actionHref: signIn ? loginPath(returnTo) : returnTo,
      actionLabel: signIn ? ui.signIn : ui.home,
    });
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(req.method === 'HEAD' ? undefined : html);
    return;
  }
  const body = { error: errorName(err.code), code: err.code, message: text.message, ...(err.status === 401 ? { login_url: loginPath(returnTo) } : {}) };
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

export function errorName(code: ErrorCode): string {
  return code.replace(/^KOOGATE_/, '').toLowerCase();
}

export function toKoogateError(e: unknown): KoogateError {
  if (e instanceof KoogateError) return e;
  if (e instanceof Error && isStoreFailure(e)) {
    return new KoogateError('KOOGATE_STORE_UNAVAILABLE', 'The session store is unavailable.', { reason: e.message });
  }
  return new KoogateError('KOOGATE_INTERNAL', 'Unexpected error.', { reason: e instanceof Error ? e.message : String(e) });
}

/** Errors of the store layer, including those that reach us through express-session and connect-redis. */
function isStoreFailure(e: Error): boolean {
  return (
    e.name === 'StoreUnavailableError' ||
    e.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|Stream isn't writeable|ClusterAllFailedError|None of startup nodes/.test(e.message)
  );
}
