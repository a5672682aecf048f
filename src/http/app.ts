import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { authRoutes, type AuthRoutesDeps } from '../auth/routes';
import { KoogateError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { AssertionSigner } from '../proxy/assertion';
import type { Health } from '../core/health';
import { VERSION } from '../core/version';
import { sendError, toKoogateError } from '../pages/respond';
import { requestFields } from '../observability/requests';
import { crossSiteReason, SAFE_METHODS } from './cross-site';

export interface AppDeps extends AuthRoutesDeps {
  trustProxy: boolean | number | string;
  session: RequestHandler;
  health: Health;
  kit: Router;
  /** The basic interfaces, at the production address itself. */
  basic: Router;
  /** KOOGATE_PRODUCE_PATH: basic calls at it, kit calls under `<it>/produceAPI/`. */
  producePath: string;
  /** The read-only directory API (http/directory-api.ts); stateless, so mounted before the session layer. */
  directoryApi: Router;
  /** Rate limits per client address (limits/rate-limits.ts): login and callback, kit and basic calls. */
  limits: { login: RequestHandler; kit: RequestHandler };
  /** The admin API (admin/api.ts); bearer-guarded and stateless like the directory API. */
  adminApi: Router;
  /** KOOGATE_BRAND_LOGO_URL: its origin is allowed to serve the pages' images. */
  brandLogoUrl?: URL;
  assertion?: AssertionSigner;
  /** True once shutdown has begun: readyz answers 503 so load balancers stop sending. */
  draining: () => boolean;
  log: Logger;
}

/** Headers of koogate's own pages; images only from the brand logo's origin, when one is configured. */
function securityHeaders(logo: URL | undefined): Record<string, string> {
  const img = logo ? `; img-src ${logo.origin}` : '';
  return {
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on koogate's own form
    // posts (logout), which the cross-site check must refuse; other sites still get no referrer.
    'Referrer-Policy': 'same-origin',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'${img}; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'`,
  };
}

/**
 * koogate's own routes: health, kit sync, login/callback/logout. Everything else goes through the
 * gateway (http/gateway.ts) and never reaches express.
 */
export function createApp(d: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', d.trustProxy);

  // Every answer koogate writes itself, kit answers included, is read as the type it declares.
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  // Security headers on koogate's own pages only: applied globally they would rewrite the app's pages.
  const headers = securityHeaders(d.brandLogoUrl);
  app.use('/_koogate', (_req, res, next) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    next();
  });
  // With several workers, both answer for the whole process (cluster/worker.ts), whichever worker is asked.
  app.get('/_koogate/healthz', async (_req, res) => {
    const h = await d.health.live();
    res.status(h.ok ? 200 : 503).json({ ...h.body, version: VERSION });
  });
  app.get('/_koogate/readyz', async (_req, res) => {
    if (d.draining()) return void res.status(503).json({ status: 'unavailable', reason: 'shutting down' });
    const h = await d.health.ready();
    res.status(h.ok ? 200 : 503).json(h.body);
  });
  app.get('/_koogate/jwks.json', (_req, res, next) => {
    if (!d.assertion) return next();
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(d.assertion.jwks());
  });
  // State-changing routes of koogate's own refuse what browsers say is cross-site (logout included):
  // SameSite=Lax is not enough against a sibling host or a top-level cross-site form post.
  // The production address (kit and basic calls) is authenticated by signatures, not a cookie, and answers in its own shape.
  app.use('/_koogate', (req, _res, next) => {
    const signed = req.originalUrl === d.producePath || req.originalUrl.startsWith(`${d.producePath}/`);
    const reason = SAFE_METHODS.has(req.method) || signed ? undefined : crossSiteReason(req.headers, d.publicUrl.origin);
    next(reason ? new KoogateError('KOOGATE_FORBIDDEN', 'Cross-site request refused.', { reason, method: req.method }) : undefined);
  });
  // KooGallery appends the kit sub-path after the production address's own path; the root stays for an
  // address registered as the bare domain.
  app.use(`${d.producePath}/produceAPI`, d.limits.kit, d.kit);
  app.use('/produceAPI', d.limits.kit, d.kit);
  app.use(d.producePath, d.limits.kit, d.basic);
  app.use('/_koogate/api', d.directoryApi);
  app.use('/_koogate/admin', d.adminApi);

  app.use(['/_koogate/login', '/_koogate/callback'], d.limits.login);
  app.use('/_koogate', d.session, express.urlencoded({ extended: false, limit: '16kb' }), authRoutes(d));
  app.use('/_koogate', (req, _res, next) => next(new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { path: req.path })));
  app.use((req, _res, next) => next(new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { path: req.path })));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toKoogateError(err);
    const fields = { ...requestFields(req), errorCode: e.code, path: req.path, ...e.detail };
    if (e.status >= 500) d.log.error('request failed', fields);
    else d.log.info('request refused', fields);
    if (res.headersSent) return void res.end();
    sendError(req, res, d.views, e, { returnTo: '/' });
  });
  return app;
}
