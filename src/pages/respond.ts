import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { safeReturnTo } from './return-to';
import { KoogateError, type ErrorCode } from '../core/errors';
import { StoreUnavailableError } from '../store/store';
import { ERROR_TEXT, pickLang, UI_TEXT, type Lang } from './messages';
import type { Views } from './views';
import { requestContext } from '../observability/requests';

/**
 * A top-level HTML navigation, whatever its method (a form post is one): the kind of request that is
 * shown a page. Browsers say so in Sec-Fetch-Mode/Sec-Fetch-Dest; without them, Accept: text/html (and no
 * X-Requested-With) decides. fetch/XHR, subresources and API clients get JSON instead.
 */
export function isPageNavigation(req: IncomingMessage): boolean {
  if (String(req.headers['x-requested-with'] ?? '').toLowerCase() === 'xmlhttprequest') return false;
  const mode = req.headers['sec-fetch-mode'];
  const dest = req.headers['sec-fetch-dest'];
  if (mode !== undefined || dest !== undefined) return (mode === undefined || mode === 'navigate') && (dest === undefined || dest === 'document');
  return String(req.headers.accept ?? '').includes('text/html');
}

export const loginPath = (returnTo: string) => `/_koogate/login?returnTo=${encodeURIComponent(returnTo)}`;

export interface ErrorResponseOptions {
  returnTo?: string;
  /** Extra headers (CORS, Set-Cookie) to send with the error. */
  headers?: Record<string, string | string[]>;
  /** "Sign in with another account": the marketplace logout, back to koogate (tenant and credential errors). */
  otherAccountUrl?: string;
  /** The tenant an organisation's administrator must set up (named in the page's note for them). */
  tenantId?: string;
}

interface WayOut {
  actionHref: string;
  actionLabel: string;
  secondaryHref?: string;
  secondaryLabel?: string;
  adminNote?: string;
}

/**
 * The way out of each error page, so nobody is left on one: sign in again where the sign-in is what
 * failed, another account (through the marketplace logout) where this account's organisation is not set
 * up, try again after an outage, the application otherwise.
 */
function wayOut(req: IncomingMessage, err: KoogateError, returnTo: string, ui: Record<string, string>, opts: ErrorResponseOptions): WayOut {
  const own = (req.url ?? '').startsWith('/_koogate/');
  switch (err.code) {
    case 'KOOGATE_TENANT_UNKNOWN':
    case 'KOOGATE_APP_CREDENTIALS_MISSING': {
      const note = err.code === 'KOOGATE_TENANT_UNKNOWN' ? ui.adminNoteTenant! : ui.adminNoteCredentials!;
      return {
        actionHref: opts.otherAccountUrl ?? '/_koogate/logged-out',
        actionLabel: ui.otherAccount!,
        secondaryHref: loginPath(returnTo),
        secondaryLabel: ui.tryAgain!,
        adminNote: opts.tenantId ? `${note} ${ui.tenantIdLabel}: ${opts.tenantId}` : note,
      };
    }
    case 'KOOGATE_FORBIDDEN':
    case 'KOOGATE_NOT_FOUND':
      return { actionHref: '/', actionLabel: ui.home! };
    default:
      break;
  }
  if (err.status === 401 || err.status === 400 || err.code === 'KOOGATE_USERINFO_INVALID' || err.code === 'KOOGATE_CLIENT_REJECTED') {
    return { actionHref: loginPath(returnTo), actionLabel: ui.signIn!, secondaryHref: '/', secondaryLabel: ui.home! };
  }
  // An outage or a limit: the same page again (a koogate route: the sign-in again, a code is used once).
  return { actionHref: own ? loginPath(returnTo) : returnTo, actionLabel: ui.tryAgain!, ...(returnTo === '/' ? {} : { secondaryHref: '/', secondaryLabel: ui.home! }) };
}

/** The JSON body of every error answer: the stable code, a message a client may show, and on a 401 where to sign in. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  message: string;
  login_url?: string;
  /** The id of this request in koogate's log lines (X-Request-Id). */
  request_id?: string;
}

export function errorBody(err: KoogateError, lang: Lang, returnTo?: string, api = false): ErrorBody {
  // A bad parameter of an API names itself; every other message is the code's fixed text.
  const problem = api && err.code === 'KOOGATE_BAD_REQUEST' && typeof err.detail.problem === 'string' ? err.detail.problem : undefined;
  const message = problem ?? ERROR_TEXT[err.code][lang].message;
  return { error: errorName(err.code), code: err.code, message, ...(err.status === 401 && returnTo !== undefined ? { login_url: loginPath(returnTo) } : {}) };
}

/** The headers every error answer carries, whatever its form. */
/** Cache-Control, and Retry-After: a rate limit's own wait, 5 s for an outage. */
function errorHeaders(err: KoogateError): Record<string, string> {
  const wait = err.detail.retryAfterSeconds;
  const retry = typeof wait === 'number' && Number.isInteger(wait) && wait > 0 ? String(wait) : err.status === 503 ? '5' : undefined;
  return { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...(retry ? { 'Retry-After': retry } : {}) };
}

/**
 * The one place where koogate errors become HTTP answers. Pages: the error page for navigations and for
 * koogate's own pages; JSON otherwise (with `login_url` on a 401).
 */
export function sendError(req: IncomingMessage, res: ServerResponse, views: Views, err: KoogateError, opts: ErrorResponseOptions = {}): void {
  const lang = pickLang(req);
  // The request path is the page's way back: checked in the form it is written into the link.
  const returnTo = safeReturnTo(opts.returnTo ?? '/');
  // The id the operator finds in the log lines of this request.
  const requestId = requestContext(req)?.id;
  res.statusCode = err.status;
  for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
  for (const [k, v] of Object.entries(errorHeaders(err))) res.setHeader(k, v);
  const own = (req.url ?? '').startsWith('/_koogate/');
  if (isPageNavigation(req) || (own && !String(req.headers.accept ?? '').includes('application/json'))) {
    const text = ERROR_TEXT[err.code][lang];
    const ui = UI_TEXT[lang];
    const html = views.render('error', {
      lang: lang === 'zh' ? 'zh-CN' : 'en',
      title: text.title,
      message: text.message,
      code: err.code,
      codeLabel: ui.codeLabel,
      requestId,
      requestIdLabel: ui.requestIdLabel,
      ...wayOut(req, err, returnTo, ui, opts),
    });
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(req.method === 'HEAD' ? undefined : html);
    return;
  }
  sendJson(res, withRequestId(errorBody(err, lang, returnTo), requestId));
}

const withRequestId = (body: ErrorBody, requestId: string | undefined): ErrorBody => (requestId ? { ...body, request_id: requestId } : body);

/** The answer of koogate's JSON APIs (directory, admin): always JSON, in English, no sign-in link. */
export function sendApiError(res: ServerResponse, err: KoogateError, requestId?: string): void {
  res.statusCode = err.status;
  for (const [k, v] of Object.entries(errorHeaders(err))) res.setHeader(k, v);
  sendJson(res, withRequestId(errorBody(err, 'en', undefined, true), requestId));
}

function sendJson(res: ServerResponse, body: ErrorBody): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/**
 * An error answer written straight to a socket (an upgrade refused before anything was switched): a
 * complete HTTP/1.1 response with Content-Length, after which the connection closes.
 */
export function socketAnswer(err: KoogateError, returnTo?: string): string {
  const body = JSON.stringify(errorBody(err, 'en', returnTo));
  const headers = {
    ...errorHeaders(err),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`;
}

function errorName(code: ErrorCode): string {
  return code.replace(/^KOOGATE_/, '').toLowerCase();
}

/**
 * Any failure as a KoogateError: ours as they are, the store's (typed at its boundary: store/store.ts)
 * as KOOGATE_STORE_UNAVAILABLE, anything else as KOOGATE_INTERNAL. The reason goes to the log only.
 */
export function toKoogateError(e: unknown): KoogateError {
  if (e instanceof KoogateError) return e;
  if (e instanceof StoreUnavailableError) return new KoogateError('KOOGATE_STORE_UNAVAILABLE', 'The session store is unavailable.', { reason: e.message });
  return new KoogateError('KOOGATE_INTERNAL', 'Unexpected error.', { reason: e instanceof Error ? e.message : String(e) });
}
