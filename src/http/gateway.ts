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
import { isPageNavigation, loginPath, sendError, toKoogateError } from '../pages/respond';
import type { Views } from '../pages/views';

export interface GatewayDeps {
  /** koogate's own routes (/_koogate/*, /produceAPI/*): express. */
  own: (req: IncomingMessage, res: ServerResponse) => void;
  auth: SessionAuthenticator;
  forwarder: Forwarder;
  sockets: WebSocketRegistry;
  isPublic(path: string): boolean;
  ownCookies: readonly string[];
  trust: TrustFn;
  /** Origins allowed to read koogate's 401 answers (CORS). */
  corsOrigins: readonly string[];
  /** Extra identity headers for the app (the signed assertion), or none. */
  assertion?: (user: MarketplaceUser) => Record<string, string>;
  views: Views;
  log: Logger;
}

const BASE = 'http://koogate.invalid';

/**
 * The request path of every proxied request, kept lean on purpose: no express, the session answered
 * from an in-process cache when possible, one pass over the headers, a streaming forward.
 */
export class Gateway {
  constructor(private readonly d: GatewayDeps) {}

  /** Normalises the target (dot segments, backslashes) so that public-path checks and the app agree. */
  private target(req: IncomingMessage): { path: string; url: string } {
    const raw = req.url ?? '/';
    if (!/[%\\]|\/\.|^[^/]/.test(raw)) {
      const q = raw.indexOf('?');
      return { path: q < 0 ? raw : raw.slice(0, q), url: raw };
    }
    const u = new URL(raw.startsWith('/') ? raw : `/${raw}`, BASE);
    return { path: u.pathname, url: u.pathname + u.search };
  }

  private isOwn(path: string): boolean {
    return path.startsWith('/_koogate/') || path === '/_koogate' || path.startsWith('/produceAPI/');
  }

  private upstreamHeaders(req: IncomingMessage, user: MarketplaceUser | undefined): Record<string, string | string[]> {
    const h = endToEndRequestHeaders(req.headers, isIdentityHeader);
    stripCookies(h, this.d.ownCookies);
    setForwarded(h, req, this.d.trust);
    if (user) {
      Object.assign(h, identityHeaders(user));
      if (this.d.assertion) Object.assign(h, this.d.assertion(user));
    }
    return h;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const { path, url } = this.target(req);
    if (this.isOwn(path)) return this.d.own(req, res);
    req.url = url;
    this.d.auth.authenticate(req.headers.cookie).then(
      (outcome) => {
        if (outcome.kind === 'user') {
          if (outcome.setCookie) res.setHeader('Set-Cookie', outcome.setCookie);
          return this.forward(req, res, outcome.user);
        }
        if (outcome.clearCookie) res.setHeader('Set-Cookie', outcome.clearCookie);
        if (this.d.isPublic(path)) return this.forward(req, res, undefined);
        if (isPageNavigation(req)) {
          res.statusCode = 302;
          res.setHeader('Location', loginPath(url));
          res.setHeader('Cache-Control', 'no-store');
          return void res.end();
        }
        const reason = outcome.kind === 'ended' ? outcome.reason : 'no session';
        this.fail(req, res, new KoogateError('KOOGATE_SESSION_EXPIRED', 'Authentication required.', { reason }), url, this.cors(req));
      },
      (e: unknown) => this.fail(req, res, toKoogateError(e), url, this.cors(req)),
    );
  };

  private forward(req: IncomingMessage, res: ServerResponse, user: MarketplaceUser | undefined): void {
    this.d.forwarder.web(req, res, this.upstreamHeaders(req, user), (err) => this.fail(req, res, err, req.url ?? '/'));
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: KoogateError, returnTo: string, headers?: Record<string, string>): void {
    if (err.status >= 500) this.d.log.error('request failed', { errorCode: err.code, path: returnTo.split('?')[0], ...err.detail });
    sendError(req, res, this.d.views, err, { returnTo, headers });
  }

  /** CORS headers for an allowed Origin, so a front end on another origin can read the 401 and its login_url. */
  private cors(req: IncomingMessage): Record<string, string> | undefined {
    const origin = req.headers.origin;
    if (!origin || !this.d.corsOrigins.includes(origin)) return undefined;
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  }

  /** Websockets and other upgrades: authenticated before anything is switched; 401 on the raw socket otherwise. */
  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { path, url } = this.target(req);
    socket.on('error', () => socket.destroy());
    if (this.isOwn(path)) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    req.url = url;
    this.d.auth.authenticate(req.headers.cookie).then(
      async (outcome) => {
        const user = outcome.kind === 'user' ? outcome.user : undefined;
        if (!user && !this.d.isPublic(path)) {
          const body = JSON.stringify({ error: 'session_expired', code: 'KOOGATE_SESSION_EXPIRED', login_url: loginPath(url) });
          return void socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        }
        const upstream = await this.d.forwarder.upgrade(req, socket, head, this.upstreamHeaders(req, user));
        if (upstream && outcome.kind === 'user') this.d.sockets.add({ sid: outcome.sid, cookie: req.headers.cookie, user: outcome.user, client: socket, upstream });
      },
      (e: unknown) => {
        const err = toKoogateError(e);
        socket.end(`HTTP/1.1 ${err.status} Error\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ code: err.code })}`);
      },
    );
  };
}
