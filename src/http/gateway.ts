import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger';
import type { Forwarder } from '../proxy/forward';
import { endToEndRequestHeaders, setForwarded, type TrustFn } from '../proxy/headers';
import { identityHeaders, isIdentityHeader, stripCookies } from '../proxy/identity';
import type { WebSocketRegistry } from '../proxy/ws-registry';
import type { SessionAuthenticator } from '../sessions/authenticator';
import type { MarketplaceUser } from '../core/identity';
import { KoogateError } from '../core/errors';
import { isPageNavigation, loginPath, sendError, socketAnswer, toKoogateError } from '../pages/respond';
import type { Views } from '../pages/views';
import { parseTarget, type RequestTarget } from './request-target';
import { corsAllowed, returnAfterLogin, routeAnonymous, routeRequest, routeUpgrade } from './routing';
import { requestContext, requestFields, type RequestTracker } from '../observability/requests';

export interface GatewayDeps {
  /** koogate's own routes (/_koogate/*, /produceAPI/*): express. */
  own: (req: IncomingMessage, res: ServerResponse) => void;
  auth: SessionAuthenticator;
  forwarder: Forwarder;
  sockets: WebSocketRegistry;
  isPublic(target: RequestTarget): boolean;
  /** KOOGATE_PRODUCE_PATH: koogate's own, wherever it is. */
  producePath: string;
  ownCookies: readonly string[];
  trust: TrustFn;
  /** Origins allowed to read koogate's 401 answers (CORS). */
  corsOrigins: readonly string[];
  /** Origins whose pages may open websockets: KOOGATE_PUBLIC_URL's and KOOGATE_WS_ORIGINS. */
  wsOrigins: ReadonlySet<string>;
  /** Extra identity headers for the app (the signed assertion), or none. */
  assertion?: (user: MarketplaceUser) => Record<string, string>;
  views: Views;
  /** Request ids, the access log and the proxied-request metric: one call per request. */
  requests: RequestTracker;
  log: Logger;
}

/**
 * The request path of every proxied request, kept lean on purpose: no express, the session answered
 * from an in-process cache when possible, one pass over the headers, a streaming forward.
 */
export class Gateway {
  constructor(private readonly d: GatewayDeps) {}

  private upstreamHeaders(req: IncomingMessage, user: MarketplaceUser | undefined, requestId: string): Record<string, string | string[]> {
    const h = endToEndRequestHeaders(req.headers, isIdentityHeader);
    stripCookies(h, this.d.ownCookies);
    setForwarded(h, req, this.d.trust);
    // The app logs the id koogate logs, so one request is traced across both.
    h['x-request-id'] = requestId;
    if (user) {
      Object.assign(h, identityHeaders(user));
      if (this.d.assertion) Object.assign(h, this.d.assertion(user));
    }
    return h;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = parseTarget(req.url ?? '/');
    // Which way it goes: http/routing.ts.
    const route = routeRequest(target, req.method, req.headers, this.d);
    const ctx = this.d.requests.begin(req, res, route === 'session' || route === 'preflight' ? 'proxy' : 'own');
    if (!target) return this.badTarget(req, res);
    if (route === 'own') return this.d.own(req, res);
    req.url = target.url;
    if (route === 'preflight') {
      res.setHeader('X-Request-Id', ctx.id);
      return preflight(req, res, this.cors(req)!);
    }
    const cached = this.d.auth.cachedUser(req.headers.cookie);
    if (cached) {
      ctx.tenantId = cached.tenantId;
      ctx.userName = cached.userName;
      try {
        return this.forward(req, res, cached, ctx.id);
      } catch (e) {
        return this.fail(req, res, toKoogateError(e), target.url, this.cors(req));
      }
    }
    this.d.auth
      .authenticate(req.headers.cookie)
      .then((outcome) => {
        if (outcome.kind === 'user') {
          ctx.tenantId = outcome.user.tenantId;
          ctx.userName = outcome.user.userName;
          return this.forward(req, res, outcome.user, ctx.id, outcome.setCookie);
        }
        if (outcome.clearCookie) res.setHeader('Set-Cookie', outcome.clearCookie);
        const anonymous = routeAnonymous(this.d.isPublic(target), req.method, isPageNavigation(req));
        if (anonymous === 'public') return this.forward(req, res, undefined, ctx.id);
        if (anonymous === 'login') {
          res.setHeader('X-Request-Id', ctx.id);
          res.statusCode = 302;
          res.setHeader('Location', loginPath(target.url));
          res.setHeader('Cache-Control', 'no-store');
          res.setHeader('X-Content-Type-Options', 'nosniff');
          return void res.end();
        }
        const reason = outcome.kind === 'ended' ? outcome.reason : 'no session';
        this.fail(req, res, new KoogateError('KOOGATE_SESSION_EXPIRED', 'Authentication required.', { reason }), returnAfterLogin(req.method, target.url, req.headers), this.cors(req));
      })
      // Whatever fails on the way (the store, the marketplace, a header the forwarder refuses) is this request's error only.
      .catch((e: unknown) => this.fail(req, res, toKoogateError(e), target.url, this.cors(req)));
  };

  /** A request target that is no path koogate can read (http/request-target.ts). */
  private badTarget(req: IncomingMessage, res: ServerResponse): void {
    this.d.log.info('request refused', { errorCode: 'KOOGATE_BAD_REQUEST', reason: 'unreadable request target', method: req.method });
    sendError(req, res, this.d.views, new KoogateError('KOOGATE_BAD_REQUEST', 'Bad request.'), { returnTo: '/' });
  }

  private forward(req: IncomingMessage, res: ServerResponse, user: MarketplaceUser | undefined, requestId: string, setCookie?: string): void {
    this.d.forwarder.web(req, res, this.upstreamHeaders(req, user, requestId), (err) => this.fail(req, res, err, req.url ?? '/'), setCookie, requestId);
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: KoogateError, returnTo: string, headers?: Record<string, string>): void {
    if (err.status >= 500) this.d.log.error('request failed', { ...requestFields(req), errorCode: err.code, path: returnTo.split('?')[0], ...err.detail });
    // Part of an answer already left: nothing sensible can follow it.
    if (res.headersSent) return void res.destroy();
    const ctx = requestContext(req);
    if (ctx) res.setHeader('X-Request-Id', ctx.id);
    try {
      sendError(req, res, this.d.views, err, { returnTo, headers });
    } catch (e) {
      this.d.log.error('error answer failed', { errorCode: err.code, err: e instanceof Error ? e.message : String(e) });
      res.destroy();
    }
  }

  /** CORS headers for an allowed Origin, so a front end on another origin can read the 401 and its login_url. */
  private cors(req: IncomingMessage): Record<string, string> | undefined {
    const origin = req.headers.origin;
    if (!corsAllowed(origin, this.d.corsOrigins)) return undefined;
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  }

  /** Websockets and other upgrades: authenticated before anything is switched; 401 on the raw socket otherwise. */
  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const target = parseTarget(req.url ?? '/');
    const origin = req.headers.origin;
    const route = routeUpgrade(target, origin, this.d.producePath, this.d.wsOrigins);
    if (!target) return answerOnSocket(socket, new KoogateError('KOOGATE_BAD_REQUEST', 'Bad request target.'));
    if (route === 'own') return answerOnSocket(socket, new KoogateError('KOOGATE_NOT_FOUND', 'Not found.'));
    if (route === 'foreign-origin') {
      this.d.log.info('upgrade refused', { errorCode: 'KOOGATE_FORBIDDEN', reason: origin === 'null' ? 'Origin is null' : 'Origin not allowed', path: target.path });
      return answerOnSocket(socket, new KoogateError('KOOGATE_FORBIDDEN', 'Websocket from another origin refused.'));
    }
    req.url = target.url;
    this.upgradeAuthenticated(req, socket, head, target).catch((e: unknown) => {
      const err = toKoogateError(e);
      if (err.status >= 500) this.d.log.error('upgrade failed', { errorCode: err.code, path: target.path, ...err.detail });
      answerOnSocket(socket, err);
    });
  };

  private async upgradeAuthenticated(req: IncomingMessage, socket: Duplex, head: Buffer, target: RequestTarget): Promise<void> {
    const outcome = await this.d.auth.authenticate(req.headers.cookie);
    const user = outcome.kind === 'user' ? outcome.user : undefined;
    if (!user && !this.d.isPublic(target)) {
      return answerOnSocket(socket, new KoogateError('KOOGATE_SESSION_EXPIRED', 'Authentication required.'), target.url);
    }
    const upstream = await this.d.forwarder.upgrade(req, socket, head, this.upstreamHeaders(req, user, randomUUID()), (err) => answerOnSocket(socket, err));
    if (!upstream) return;
    if (outcome.kind === 'user') this.d.sockets.add({ sid: outcome.sid, cookie: req.headers.cookie, user: outcome.user, client: socket, upstream });
    else this.d.sockets.add({ client: socket, upstream });
  }
}

/** An error answer on the raw socket of an upgrade request, which never became an HTTP response object. */
function answerOnSocket(socket: Duplex, err: KoogateError, returnTo?: string): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(socketAnswer(err, returnTo));
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * The answer to a CORS preflight from an origin in KOOGATE_CORS_ORIGINS, without a session (a preflight
 * never carries cookies): the method and headers asked for are allowed when they are plain tokens, so the
 * front end can make its non-simple call and read the answer, a 401 with login_url included.
 */
function preflight(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>): void {
  const method = String(req.headers['access-control-request-method']).trim();
  const asked = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  res.statusCode = 204;
  for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
  res.setHeader('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
  if (TOKEN.test(method)) res.setHeader('Access-Control-Allow-Methods', method);
  const allowed = asked.filter((h) => TOKEN.test(h)).slice(0, 32);
  if (allowed.length > 0) res.setHeader('Access-Control-Allow-Headers', allowed.join(', '));
  res.setHeader('Access-Control-Max-Age', '600');
  res.setHeader('Content-Length', '0');
  res.end();
}
