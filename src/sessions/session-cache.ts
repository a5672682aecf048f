import type { MarketplaceUser } from '../core/identity';
import type { Invalidation } from './invalidation';
import type { SessionAuth } from './session';

export interface CachedSession {
  auth: SessionAuth;
  /** The user as the app sees it (role from the directory when it has one). */
  user: MarketplaceUser;
  /** When the access token becomes due for renewal. */
  dueAt: number;
  /** When the idle window needs extending (a write). */
  touchAt: number;
  /** When the session must end at the latest. */
  endsAt: number;
  cachedAt: number;
}

/**
 * A short-lived, in-process copy of what the last full check of a session found, so that most proxied
 * requests need no store round trip. Entries are dropped on invalidation messages from any replica and
 * expire after `ttlMs`, which bounds how long a missed message can matter.
 */
export class SessionCache {
  private readonly entries = new Map<string, CachedSession>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A usable entry: fresh, not due for renewal, no idle extension needed, not ended. */
  get(sid: string): CachedSession | undefined {
    if (this.ttlMs <= 0) return undefined;
    const e = this.entries.get(sid);
    if (!e) return undefined;
    const now = this.now();
    if (now - e.cachedAt >= this.ttlMs || now >= e.dueAt || now >= e.touchAt || now >= e.endsAt) {
      this.entries.delete(sid);
      return undefined;
    }
    return e;
  }

  put(sid: string, entry: Omit<CachedSession, 'cachedAt'>): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest tenth.
      let drop = Math.ceil(this.maxEntries / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--drop === 0) break;
      }
    }
    this.entries.set(sid, { ...entry, cachedAt: this.now() });
  }

  apply(msg: Invalidation): void {
    if (msg.kind === 'session') {
      this.entries.delete(msg.sid);
      return;
    }
    for (const [sid, e] of this.entries) {
      if (e.auth.user.tenantId !== msg.tenantId) continue;
      if (msg.kind === 'tenant' || e.auth.user.userName === msg.userName) this.entries.delete(sid);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
