import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { KoogateError } from '../errors';
import { isPageNavigation, loginPath } from '../http/respond';
import type { MarketplaceUser } from '../marketplace/oauth';
import type { Logger } from '../observability/logger';
import type { SessionService } from '../sessions/session-service';
import type { TokenRenewal } from '../tokens/renewal';
import { destroy } from './routes';

declare module 'express-serve-static-core' {
  interface Request {
    /** The logged-in user of this request, set by the guard. */
    koogateUser?: MarketplaceUser;
  }
}

export interface GuardDeps {
  renewal: TokenRenewal;
  sessions: SessionService;
  isPublic(path: string): boolean;
  log: Logger;
}

/**
 * In front of every proxied request: loads the session, renews its token when due, and lets the request
 * through with its user; without a session a page navigation goes to login and anything else gets 401.
 */
export function sessionGuard(d: GuardDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const auth = req.session?.auth;
      if (auth) {
        try {
          const idle = d.sessions.idleEnded(auth);
          if (idle) throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Session ended.', { reason: idle });
          const grant = await d.renewal.fresh(auth.grantId);
          const over = d.sessions.lifetimeEnded(grant);
          if (over) throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Session ended.', { reason: over });
          d.sessions.touch(req, grant);
          req.koogateUser = auth.user;
          return next();
        } catch (e) {
          if (!(e instanceof KoogateError) || e.code !== 'KOOGATE_SESSION_EXPIRED') throw e;
          d.log.info('session ended', { tenantId: auth.user.tenantId, userName: auth.user.userName, reason: e.detail.reason });
          await d.sessions.release(req.sessionID, auth);
          await destroy(req);
        }
      }
      if (d.isPublic(req.path)) return next();
      if (isPageNavigation(req)) {
        res.setHeader('Cache-Control', 'no-store');
        return res.redirect(302, loginPath(req.originalUrl));
      }
      throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Authentication required.', { reason: auth ? 'session ended' : 'no session' });
    } catch (e) {
      next(e);
    }
  };
}

/** `/exact` or `/prefix/*` entries of KOOGATE_PUBLIC_PATHS. */
export function publicPathMatcher(patterns: readonly string[]): (path: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}
