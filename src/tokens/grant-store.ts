import { randomBytes } from 'node:crypto';
import type { Sealer } from '../crypto/sealed';
import type { TokenSet } from '../marketplace/oauth';
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
  expiresAt: number;
}

interface StoredGrant {
  tenantId: string;
  version: number;
  expiresAt: number;
  /** Sealed JSON of { accessToken, refreshToken }. */
  tokens: string;
}

export interface LoadedGrant {
  grant: Grant;
  /** The stored text, the compare-and-set witness of the next write. */
  raw: string;
}

const key = (id: string) => `grant:${id}`;

export class GrantStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly sealer: Sealer,
    private readonly ttlMs: number,
  ) {}

  newId(): string {
    return randomBytes(18).toString('base64url');
  }

  async create(tenantId: string, tokens: TokenSet): Promise<Grant> {
    const id = this.newId();
    const grant: Grant = { id, tenantId, version: 1, ...pick(tokens) };
    await this.store.set(key(id), this.serialise(grant), this.ttlMs);
    return grant;
  }

  async load(id: string): Promise<LoadedGrant | null> {
    const raw = await this.store.get(key(id));
    if (!raw) return null;
    const s = JSON.parse(raw) as StoredGrant;
    const t = JSON.parse(this.sealer.open(s.tokens, key(id))) as { accessToken: string; refreshToken?: string };
    return { raw, grant: { id, tenantId: s.tenantId, version: s.version, expiresAt: s.expiresAt, ...t } };
  }

  /** Stores renewed tokens only if nobody changed the grant since `previous` was read. */
  async replace(previous: LoadedGrant, tokens: TokenSet): Promise<Grant | null> {
    const next: Grant = { ...previous.grant, version: previous.grant.version + 1, ...pick(tokens) };
    const ok = await this.store.compareAndSet(key(next.id), previous.raw, this.serialise(next), this.ttlMs);
    return ok ? next : null;
  }

  async delete(id: string): Promise<void> {
    await this.store.del(key(id));
  }

  private serialise(g: Grant): string {
    const stored: StoredGrant = {
      tenantId: g.tenantId,
      version: g.version,
      expiresAt: g.expiresAt,
      tokens: this.sealer.seal(JSON.stringify({ accessToken: g.accessToken, refreshToken: g.refreshToken }), key(g.id)),
    };
    return JSON.stringify(stored);
  }
}

function pick(t: TokenSet) {
  return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt };
}
