import { randomBytes } from 'node:crypto';
import type { ResealOutcome, Sealer } from '../crypto/sealed';
import { openOrKeyMissing } from '../directory/directory';
import type { TokenSet } from '../core/identity';
import type { KeyValueStore } from '../store/store';

/**
 * A session's marketplace tokens live apart from the express-session record, versioned, so that a request
 * that saves its session can never write back tokens older than the ones a renewal just stored.
 */
export interface Grant {
  id: string;
  tenantId: string;
  version: number;
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms: access token expiry (from `expires_in`). */
  expiresAt: number;
  /** Epoch ms: when the refresh token can no longer renew. */
  refreshExpiresAt: number;
  /** Epoch ms: login time, for the absolute session lifetime. */
  createdAt: number;
}

export interface LoadedGrant {
  grant: Grant;
  /** The stored text, the compare-and-set witness of the next write. */
  raw: string;
}

interface StoredGrant extends Omit<Grant, 'id' | 'accessToken' | 'refreshToken'> {
  /** Sealed JSON of { accessToken, refreshToken }. */
  tokens: string;
}

export interface GrantLifetimes {
  /** Absolute session lifetime from login. */
  absoluteMs: number;
  /** Assumed refresh token lifetime when the marketplace does not say (30 days by its documents). */
  refreshTokenMs: number;
  now?: () => number;
}

const key = (id: string) => `grant:${id}`;

export class GrantStore {
  private readonly now: () => number;

  constructor(
    private readonly store: KeyValueStore,
    private readonly sealer: Sealer,
    private readonly life: GrantLifetimes,
  ) {
    this.now = life.now ?? Date.now;
  }

  /** When the session of this grant must end at the latest: the refresh token's end, capped by the absolute lifetime. */
  endsAt(g: Pick<Grant, 'createdAt' | 'refreshExpiresAt'>): number {
    return Math.min(g.createdAt + this.life.absoluteMs, g.refreshExpiresAt);
  }

  async create(tenantId: string, tokens: TokenSet): Promise<Grant> {
    const now = this.now();
    const grant: Grant = {
      id: randomBytes(18).toString('base64url'),
      tenantId,
      version: 1,
      createdAt: now,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: tokens.expiresAt,
      refreshExpiresAt: tokens.refreshExpiresAt ?? (tokens.refreshToken ? now + this.life.refreshTokenMs : tokens.expiresAt),
    };
    await this.store.set(key(grant.id), this.serialise(grant), this.ttl(grant));
    return grant;
  }

  async load(id: string): Promise<LoadedGrant | null> {
    const raw = await this.store.get(key(id));
    if (!raw) return null;
    const { tokens, ...s } = JSON.parse(raw) as StoredGrant;
    const t = JSON.parse(openOrKeyMissing(this.sealer, tokens, key(id), 'tokens')) as { accessToken: string; refreshToken?: string };
    return { raw, grant: { id, ...s, ...t } };
  }

  /** A grant's times without opening its tokens (listings), or null when it is gone. */
  async peek(id: string): Promise<Omit<Grant, 'accessToken' | 'refreshToken'> | null> {
    const raw = await this.store.get(key(id));
    if (!raw) return null;
    const { tokens: _tokens, ...s } = JSON.parse(raw) as StoredGrant;
    return { id, ...s };
  }

  /**
   * Seals the grant's tokens again under the current key (after a key rotation). Compare-and-set, so a
   * renewal that wrote meanwhile wins (its tokens are sealed under the current key already).
   */
  async reseal(id: string): Promise<ResealOutcome> {
    const loaded = await this.load(id).catch(() => 'unreadable' as const);
    if (loaded === null) return 'gone';
    if (loaded === 'unreadable') return 'failed';
    const { tokens } = JSON.parse(loaded.raw) as StoredGrant;
    if (!this.sealer.needsReseal(tokens)) return 'current';
    const ok = await this.store.compareAndSet(key(id), loaded.raw, this.serialise(loaded.grant), this.ttl(loaded.grant));
    return ok ? 'resealed' : 'current';
  }

  /** Stores renewed tokens only if nobody changed the grant since `previous` was read. */
  async replace(previous: LoadedGrant, tokens: TokenSet): Promise<Grant | null> {
    const p = previous.grant;
    const rotated = tokens.refreshToken !== undefined && tokens.refreshToken !== p.refreshToken;
    const next: Grant = {
      ...p,
      version: p.version + 1,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? p.refreshToken,
      expiresAt: tokens.expiresAt,
      refreshExpiresAt: tokens.refreshExpiresAt ?? (rotated ? this.now() + this.life.refreshTokenMs : p.refreshExpiresAt),
    };
    const ok = await this.store.compareAndSet(key(next.id), previous.raw, this.serialise(next), this.ttl(next));
    return ok ? next : null;
  }

  async delete(...ids: string[]): Promise<void> {
    await this.store.del(...ids.map(key));
  }

  private ttl(g: Grant): number {
    return Math.max(1000, this.endsAt(g) - this.now());
  }

  private serialise(g: Grant): string {
    const { id, accessToken, refreshToken, ...rest } = g;
    const stored: StoredGrant = { ...rest, tokens: this.sealer.seal(JSON.stringify({ accessToken, refreshToken }), key(id)) };
    return JSON.stringify(stored);
  }
}
