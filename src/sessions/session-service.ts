import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type session from 'express-session';
import type { InvalidationBus } from './invalidation';
import type { MarketplaceUser } from '../core/identity';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { KeyValueStore } from '../store/store';
import type { Grant, GrantStore } from '../tokens/grant-store';
import type { SessionAuth } from './session';
import { destroySession, loadSession } from './session-calls';

export interface SessionLifetimes {
  /** A session unused this long ends. */
  idleMs: number;
  /** The most a session can live (also capped by its refresh token). */
  absoluteMs: number;
  now?: () => number;
}

/** Which sessions to end: all of a tenant, or one user of it. */
export interface SessionFilter {
  tenantId: string;
  userName?: string;
}

/** One live session as an operator sees it: who, since when, until when; never the session id or a token. */
export interface SessionSummary {
  /** A stable name of the session, the same on every replica; a digest of its id, useless as a cookie. */
  ref: string;
  tenantId: string;
  userName: string;
  createdAt: number;
  lastSeenAt: number;
  /** When it ends at the latest without further use (idle window, refresh token, absolute lifetime). */
  expiresAt: number;
}

/** The printable name of a session: a digest of its id, so a listing never hands out a usable session. */
export const sessionRef = (sid: string) => createHash('sha256').update(`koogate/session-ref/${sid}`).digest().subarray(0, 12).toString('base64url');

const userIndex = (tenantId: string, userName: string) => `idx:user:${tenantId}:${encodeURIComponent(userName)}`;
const tenantIndex = (tenantId: string) => `idx:tenant:${tenantId}`;

interface IndexEntry {
  sid: string;
  grantId: string;
  userName: string;
}
const encode = (e: IndexEntry) => `${e.sid} ${e.grantId} ${encodeURIComponent(e.userName)}`;
function decode(member: string): IndexEntry | null {
  const [sid, grantId, user] = member.split(' ');
  return sid && grantId && user ? { sid, grantId, userName: decodeURIComponent(user) } : null;
}

/**
 * Session lifetimes and the indexes that find a user's or a tenant's sessions, so they can all be ended
 * at once (logout everywhere, de-authorization, tenant deletion). Ending a session deletes its grant,
 * which every replica reads on every request, so the end is seen everywhere at the next request.
 */
export class SessionService {
  private readonly now: () => number;
  private readonly touchAfterMs: number;

  constructor(
    private readonly store: KeyValueStore,
    private readonly sessions: session.Store,
    private readonly grants: GrantStore,
    private readonly life: SessionLifetimes,
    private readonly log: Logger,
    private readonly bus: InvalidationBus,
    private readonly metrics?: Metrics,
  ) {
    this.now = life.now ?? Date.now;
    // Extending the idle window rewrites the session; doing it at most every tenth of the window keeps
    // Redis writes rare while the window stays accurate to that tenth.
    this.touchAfterMs = Math.min(life.idleMs / 10, 5 * 60_000);
  }

  /** Fills a freshly regenerated session for a login and indexes it. */
  async start(req: Request, user: MarketplaceUser, grant: Grant): Promise<void> {
    const now = this.now();
    const auth: SessionAuth = { user, grantId: grant.id, loginAt: now, lastSeen: now };
    req.session.auth = auth;
    req.session.cookie.maxAge = this.cookieMaxAge(grant, now);
    const member = encode({ sid: req.sessionID, grantId: grant.id, userName: user.userName });
    const ttlMs = this.life.absoluteMs;
    await this.store.atomic([
      { op: 'sadd', key: userIndex(user.tenantId, user.userName), member },
      { op: 'expire', key: userIndex(user.tenantId, user.userName), ttlMs },
      { op: 'sadd', key: tenantIndex(user.tenantId), member },
      { op: 'expire', key: tenantIndex(user.tenantId), ttlMs },
    ]);
  }

  /** Why this session must end now, or null. Called before any renewal. */
  idleEnded(auth: SessionAuth): string | null {
    return this.now() - auth.lastSeen > this.life.idleMs ? 'idle timeout' : null;
  }

  /** Why this session must end now given its grant, or null. */
  lifetimeEnded(grant: Grant): string | null {
    return this.now() >= this.grants.endsAt(grant) ? 'session lifetime reached' : null;
  }

  /** When the idle window of this session next needs extending. */
  touchAt(auth: SessionAuth): number {
    return auth.lastSeen + this.touchAfterMs;
  }

  /**
   * Extends the idle window when a tenth of it has passed: moves `lastSeen` and returns the cookie's new
   * max age (the caller saves the session, so cookie and store TTL move together). Otherwise null: nothing
   * to write.
   */
  extend(auth: SessionAuth, grant: Grant): number | null {
    const now = this.now();
    if (now < this.touchAt(auth)) return null;
    auth.lastSeen = now;
    return this.cookieMaxAge(grant, now);
  }

  get idleMs(): number {
    return this.life.idleMs;
  }

  lifetimeEnd(grant: Grant): number {
    return this.grants.endsAt(grant);
  }

  cookieMaxAge(grant: Grant, now: number = this.now()): number {
    return Math.max(1000, Math.min(this.life.idleMs, this.grants.endsAt(grant) - now));
  }

  /**
   * Ends one session's grant and index entries (logout, expiry). The caller destroys the request's
   * session itself, so express-session does not write it back.
   */
  async release(sid: string, auth: SessionAuth): Promise<void> {
    const member = encode({ sid, grantId: auth.grantId, userName: auth.user.userName });
    await this.grants.delete(auth.grantId);
    await this.store.atomic([
      { op: 'srem', key: userIndex(auth.user.tenantId, auth.user.userName), member },
      { op: 'srem', key: tenantIndex(auth.user.tenantId), member },
    ]);
    await this.bus.publish({ kind: 'session', sid });
  }

  /**
   * The live sessions of a tenant, or of one user of it, oldest login first. Index entries whose session
   * or grant is gone (ended, expired) are left out.
   */
  async list(filter: SessionFilter): Promise<SessionSummary[]> {
    const entries = await this.indexed(filter);
    const out: SessionSummary[] = [];
    for (const e of entries) {
      const [data, grant] = await Promise.all([loadSession(this.sessions, e.sid), this.grants.peek(e.grantId)]);
      const auth = data?.auth;
      if (!auth || !grant || auth.grantId !== e.grantId) continue;
      out.push({
        ref: sessionRef(e.sid),
        tenantId: filter.tenantId,
        userName: e.userName,
        createdAt: auth.loginAt,
        lastSeenAt: auth.lastSeen,
        expiresAt: Math.min(auth.lastSeen + this.life.idleMs, this.grants.endsAt(grant)),
      });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.ref.localeCompare(b.ref));
  }

  /** The grant ids of a tenant's indexed sessions (re-sealing their tokens). */
  async grantIds(tenantId: string): Promise<string[]> {
    return (await this.indexed({ tenantId })).map((e) => e.grantId);
  }

  private async indexed(filter: SessionFilter): Promise<IndexEntry[]> {
    const indexKey = filter.userName === undefined ? tenantIndex(filter.tenantId) : userIndex(filter.tenantId, filter.userName);
    return (await this.store.sMembers(indexKey)).map(decode).filter((e): e is IndexEntry => e !== null);
  }

  /** Ends every session of a tenant, or of one user of it, on every replica. Returns how many. */
  async endSessions(filter: SessionFilter, reason = 'revoked'): Promise<number> {
    const entries = await this.indexed(filter);
    if (entries.length === 0) return 0;
    // Grants first: the moment they are gone, every replica treats these sessions as logged out.
    await this.grants.delete(...entries.map((e) => e.grantId));
    const ops = entries.flatMap((e) => [
      { op: 'srem' as const, key: userIndex(filter.tenantId, e.userName), member: encode(e) },
      { op: 'srem' as const, key: tenantIndex(filter.tenantId), member: encode(e) },
    ]);
    await this.store.atomic(ops);
    await Promise.all(entries.map((e) => destroySession(this.sessions, e.sid).catch(() => undefined)));
    await this.bus.publish(filter.userName === undefined ? { kind: 'tenant', tenantId: filter.tenantId, ended: true } : { kind: 'user', tenantId: filter.tenantId, userName: filter.userName, ended: true });
    this.log.info('sessions ended', { tenantId: filter.tenantId, userName: filter.userName, count: entries.length });
    this.metrics?.sessionEnded(reason, entries.length);
    return entries.length;
  }
}
