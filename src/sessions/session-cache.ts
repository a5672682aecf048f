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

interface Entry extends CachedSession {
  /** The earliest of cachedAt + ttl, dueAt, touchAt and endsAt: unusable from then on. */
  expiresAt: number;
}

/** Expired entries dropped from the least recently used end on a read: a bounded step, however many. */
const EVICT_ON_READ = 2;

/**
 * A short-lived, in-process copy of what the last full check of a session found, so that most proxied
 * requests need no store round trip. Entries are dropped on invalidation messages from any replica and
 * expire after `ttlMs`, which bounds how long a missed message can matter.
 *
 * Memory is bounded twice: an LRU of at most `maxEntries` (the least recently used goes first), and a time
 * limit. The Map's order is the order of last use, so expired entries gather at its front and are dropped
 * there, on every write and a few on every read: an entry nobody asks for again does not outlive its
 * time limit by more than the next writes, whether or not the cache is full.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A usable entry: fresh, not due for renewal, no idle extension needed, not ended. It becomes the most recently used. */
  get(sid: string): CachedSession | undefined {
    if (this.ttlMs <= 0) return undefined;
    const e = this.entries.get(sid);
    const now = this.now();
    this.evictExpired(now, EVICT_ON_READ);
    if (!e) return undefined;
    this.entries.delete(sid);
    if (now >= e.expiresAt) return undefined;
    this.entries.set(sid, e);
    return e;
  }

  put(sid: string, entry: Omit<CachedSession, 'cachedAt'>): void {
    if (this.ttlMs <= 0) return;
    const now = this.now();
    this.entries.delete(sid);
    this.evictExpired(now, Infinity);
    while (this.entries.size >= this.maxEntries) this.dropOldest();
    const expiresAt = Math.min(now + this.ttlMs, entry.dueAt, entry.touchAt, entry.endsAt);
    this.entries.set(sid, { ...entry, cachedAt: now, expiresAt });
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

  /** Drops expired entries from the least recently used end, at most `limit`. */
  private evictExpired(now: number, limit: number): void {
    let n = 0;
    for (const [sid, e] of this.entries) {
      if (n >= limit || now < e.expiresAt) return;
      this.entries.delete(sid);
      n++;
    }
  }

  private dropOldest(): void {
    for (const sid of this.entries.keys()) {
      this.entries.delete(sid);
      return;
    }
  }
}
