import type session from 'express-session';
import type { MarketplaceUser } from '../core/identity';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { TokenRenewal } from '../tokens/renewal';
import type { SessionCookie } from './cookie';
import type { SessionAuth } from './session';
import { destroySession, loadSession, saveSession } from './session-calls';
import type { SessionCache } from './session-cache';
import type { SessionService } from './session-service';

/** What the directory says of a user right now (role changes and revocations reach live sessions here). */
export type AccessCheck = (user: MarketplaceUser) => Promise<{ allowed: boolean; role?: string }>;

export type AuthOutcome =
  /** No session cookie, a forged one, or a session that no longer exists. */
  | { kind: 'anonymous'; clearCookie?: string }
  /** The session ended on this request (idle, lifetime, refresh refused, revoked). */
  | { kind: 'ended'; reason: string; clearCookie: string }
  | { kind: 'user'; sid: string; user: MarketplaceUser; setCookie?: string };

export interface AuthenticatorDeps {
  cookie: SessionCookie;
  store: session.Store;
  sessions: SessionService;
  renewal: Pick<TokenRenewal, 'fresh'>;
  cache: SessionCache;
  access?: AccessCheck;
  renewSkewMs: number;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/**
 * Decides who a proxied request (or websocket) is, without express: the signed cookie, the session
 * cache, and on a miss the full check — session record, idle window, token renewal, lifetime, the
 * directory's word — whose result is cached for the next requests.
 */
export class SessionAuthenticator {
  private readonly now: () => number;
  /**
   * The full checks running now, by session: requests of one session that miss the cache together (a
   * page's many assets, or every request of a busy session when its cache entry expires) share one
   * check, so it reads the store, renews and ends the session once, not once per request.
   */
  private readonly checking = new Map<string, Promise<AuthOutcome>>();

  constructor(private readonly d: AuthenticatorDeps) {
    this.now = d.now ?? Date.now;
  }

  async authenticate(cookieHeader: string | undefined): Promise<AuthOutcome> {
    const sid = this.d.cookie.sid(cookieHeader);
    if (!sid) return { kind: 'anonymous' };
    const hit = this.d.cache.get(sid);
    if (hit) return { kind: 'user', sid, user: hit.user };
    let running = this.checking.get(sid);
    if (!running) {
      running = this.check(sid).finally(() => this.checking.delete(sid));
      this.checking.set(sid, running);
    }
    return running;
  }

  /**
   * The user of a session the cache answers for, without a promise: most proxied requests end here,
   * and skipping the promise and its microtask is worth it on that path. Otherwise undefined, and
   * `authenticate` decides.
   */
  cachedUser(cookieHeader: string | undefined): MarketplaceUser | undefined {
    const sid = this.d.cookie.sid(cookieHeader);
    return sid ? this.d.cache.get(sid)?.user : undefined;
  }

  private async check(sid: string): Promise<AuthOutcome> {
    const sess = await loadSession(this.d.store, sid);
    const auth = sess?.auth;
    if (!sess || !auth) return { kind: 'anonymous', clearCookie: this.d.cookie.clear() };
    const idle = this.d.sessions.idleEnded(auth);
    if (idle) return this.end(sid, auth, idle);
    const renewal = await this.d.renewal.fresh(auth.grantId);
    if (renewal.kind === 'ended') return this.end(sid, auth, renewal.reason);
    const grant = renewal.grant;
    const over = this.d.sessions.lifetimeEnded(grant);
    if (over) return this.end(sid, auth, over);
    let user = auth.user;
    if (this.d.access) {
      const verdict = await this.d.access(auth.user);
      if (!verdict.allowed) return this.end(sid, auth, 'access withdrawn');
      if (verdict.role && verdict.role !== user.role) user = { ...user, role: verdict.role };
    }
    let setCookie: string | undefined;
    const maxAgeMs = this.d.sessions.extend(auth, grant);
    if (maxAgeMs !== null) {
      const now = this.now();
      sess.cookie.expires = new Date(now + maxAgeMs);
      sess.cookie.originalMaxAge = maxAgeMs;
      await saveSession(this.d.store, sid, sess);
      setCookie = this.d.cookie.serialize(sid, maxAgeMs, now);
    }
    this.d.cache.put(sid, {
      auth,
      user,
      dueAt: grant.expiresAt - this.d.renewSkewMs,
      touchAt: this.d.sessions.touchAt(auth),
      endsAt: Math.min(this.d.sessions.lifetimeEnd(grant), auth.lastSeen + this.d.sessions.idleMs),
    });
    return { kind: 'user', sid, user, setCookie };
  }

  /** The session ended on this request: its grant, index entries and record go, and the cookie with them. */
  private async end(sid: string, auth: SessionAuth, reason: string): Promise<AuthOutcome> {
    this.d.log.info('session ended', { tenantId: auth.user.tenantId, userName: auth.user.userName, reason });
    const counted = endedReason(reason);
    if (counted) this.d.metrics?.sessionEnded(counted);
    await this.d.sessions.release(sid, auth);
    await destroySession(this.d.store, sid);
    return { kind: 'ended', reason, clearCookie: this.d.cookie.clear() };
  }
}

/**
 * The metric's reason for a session this check ended, or null when it had already ended elsewhere (its
 * grant was deleted by a logout or revocation, which counted it).
 */
function endedReason(reason: string): string | null {
  if (reason === 'idle timeout') return 'idle';
  if (reason === 'session lifetime reached') return 'lifetime';
  if (reason === 'refresh refused' || reason === 'no refresh token') return 'refresh_refused';
  if (reason === 'access withdrawn' || reason === 'tenant or app credentials removed') return 'revoked';
  return null;
}
