import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { sessionGuard, publicPathMatcher } from '../auth/guard';
import { authRoutes, type AuthRoutesDeps } from '../auth/routes';
import { TX_COOKIE } from '../auth/transaction';
import type { Logger } from '../observability/logger';
import { setIdentity, stripCookies, stripIdentity } from '../proxy/identity';
import type { UpstreamProxy } from '../proxy/proxy';
import type { KeyValueStore } from '../store/store';
import type { TokenRenewal } from '../tokens/renewal';
import { KoogateError } from '../errors';
import { sendError, toKoogateError } from './respond';
import type { RequestHandler, Router } from 'express';

export interface AppDeps extends AuthRoutesDeps {
  trustProxy: boolean | number | string;
  publicPaths: readonly string[];
  session: RequestHandler;
  store: KeyValueStore;
  renewal: TokenRenewal;
  kit: Router;
  proxy: UpstreamProxy;
  log: Logger;
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'",
};

/** Routes in order: health, kit sync, koogate's own pages, then everything else through the guard to the app. */
export function createApp(d: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', d.trustProxy);
  const ownCookies = [d.cookieName, TX_COOKIE];

  // Security headers on koogate's own pages only: applied globally they would rewrite the app's pages.
  app.use('/_koogate', (_req, res, next) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    next();
  });
  app.get('/_koogate/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/_koogate/readyz', async (_req, res) => {
    try {
      await d.store.ping();
      res.json({ status: 'ready', store: d.store.kind });
    } catch (e) {
      d.log.warn('not ready: store unreachable', { err: e instanceof Error ? e.message : String(e) });
      res.status(503).json({ status: 'unavailable', store: d.store.kind, reason: 'store unreachable' });
    }
  });
  app.use('/produceAPI', d.kit);

  app.use(d.session);
  app.use('/_koogate', express.urlencoded({ extended: false, limit: '16kb' }), authRoutes(d));
  app.use('/_koogate', (req, _res, next) => next(new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { path: req.path })));

  const isPublic = publicPathMatcher(d.publicPaths);
  app.use(sessionGuard({ renewal: d.renewal, sessions: d.sessions, isPublic, log: d.log }));
  app.use((req: Request, res: Response) => {
    stripIdentity(req.headers);
    stripCookies(req.headers, ownCookies);
    if (req.koogateUser) setIdentity(req.headers, req.koogateUser);
    d.proxy.forward(req, res);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toKoogateError(err);
    const fields = { code: e.code, path: req.path, ...e.detail };
    if (e.status >= 500) d.log.error('request failed', fields);
    else d.log.info('request refused', fields);
    if (res.headersSent) return void res.end();
    sendError(req, res, d.views, e, { returnTo: req.path.startsWith('/_koogate') ? '/' : req.originalUrl });
  });
  return app;
}
