import type { RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { KoogateError } from '../core/errors';

export interface BearerGuardOptions {
  /** The configured token; without one every route behind the guard answers 404. */
  token?: string;
  /** Named in the 404's log detail, so an operator sees why the routes are off. */
  setting: string;
}

/**
 * Lets a request through only with `Authorization: Bearer <token>`. Digests are compared, so the check
 * takes the same time whatever length or prefix the presented token has. Without a configured token the
 * routes do not exist (404), which tells a prober nothing about them.
 */
export function bearerGuard(opts: BearerGuardOptions): RequestHandler {
  const expected = opts.token === undefined ? undefined : digest(opts.token);
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!expected) return next(new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { reason: `off (no ${opts.setting})` }));
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="koogate"');
      return next(new KoogateError('KOOGATE_API_UNAUTHORIZED', 'Bearer token missing or wrong.', { hasAuthorization: Boolean(req.headers.authorization) }));
    }
    next();
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
