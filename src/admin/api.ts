import express, { type RequestHandler, type Router } from 'express';
import { KoogateError } from '../core/errors';
import { bearerGuard } from '../http/bearer';
import { jsonErrors } from '../pages/json-errors';
import type { LogFields, Logger } from '../observability/logger';
import { AuditLog, httpActor } from './audit';

export const ADMIN_BASE = '/_koogate/admin';

/** What admin routes get besides the router: the audit trail, with the request's actor filled in. */
export interface AdminContext {
  audit(req: express.Request, action: string, count: number, target?: LogFields): void;
}

/** A group of admin routes (sessions, dead letters, keys, usage records…), mounted behind the admin guard. */
export type AdminRoutes = (router: Router, ctx: AdminContext) => void;

export interface AdminApiDeps {
  /** KOOGATE_ADMIN_TOKEN; without one every route under /_koogate/admin/ answers 404. */
  token?: string;
  log: Logger;
  /** The API's rate limit per client address, run before the token check. */
  limit?: RequestHandler;
  routes: readonly AdminRoutes[];
}

/**
 * The admin API under /_koogate/admin/: operator actions over HTTP, behind their own bearer token (never
 * the directory API's, which only reads). The guard runs before any body is parsed, so an unauthenticated
 * caller costs nothing but the check. Answers are JSON; every action writes an audit line.
 */
export function adminApi(d: AdminApiDeps): Router {
  const log = d.log.child({ component: 'admin' });
  const audit = new AuditLog(log);
  const router = express.Router();
  // Counted before the token is checked: guesses count like everything else.
  if (d.limit) router.use(d.limit);
  router.use(bearerGuard({ token: d.token, setting: 'KOOGATE_ADMIN_TOKEN' }));
  const ctx: AdminContext = {
    audit: (req, action, count, target) => audit.record({ actor: httpActor(req), action, count, target }),
  };
  for (const mount of d.routes) mount(router, ctx);
  router.use((req, _res, next) => next(new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { path: req.path })));
  router.use(jsonErrors(log, 'admin API'));
  return router;
}

/**
 * A JSON body parser for admin routes: only `application/json`, at most `limit`, and a parse failure or an
 * oversized body is a 400 that names the problem, not a 500.
 */
export function jsonBody(limit = '64kb'): RequestHandler {
  const parse = express.json({ limit, strict: true });
  return (req, res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is('application/json')) return next(badRequest('the body must be application/json'));
    parse(req, res, (err?: unknown) => {
      if (err === undefined) return next();
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') return next(badRequest(`the body is larger than ${limit}`));
      next(badRequest('the body is not valid JSON'));
    });
  };
}

export function badRequest(problem: string): KoogateError {
  return new KoogateError('KOOGATE_BAD_REQUEST', problem, { problem });
}
