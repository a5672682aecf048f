import type { Directory } from '../directory/directory';
import { KoogateError } from '../errors';
import type { MarketplaceOAuth } from '../marketplace/oauth';
import type { Logger } from '../observability/logger';
import type { Grant, GrantStore, LoadedGrant } from './grant-store';

export interface RenewalOptions {
  appId: string;
  skewMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * Keeps a session's access token fresh while the user keeps using the app (PROTOCOL.md §2.4).
 * Concurrent requests of one session in this process share one renewal (single flight); the grant is
 * written with compare-and-set, so a renewal that lost a race adopts the winner's tokens.
 */
export class TokenRenewal {
  private readonly inFlight = new Map<string, Promise<Grant>>();
  private readonly now: () => number;

  constructor(
    private readonly grants: GrantStore,
    private readonly directory: Directory,
    private readonly oauth: MarketplaceOAuth,
    private readonly opts: RenewalOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Returns a grant whose access token is good for at least the skew, renewing it when due.
   * Throws KOOGATE_SESSION_EXPIRED when the grant is gone or the refresh token is dead, and
   * KOOGATE_MARKETPLACE_UNAVAILABLE when renewal failed and the current token has run out.
   */
  async fresh(grantId: string): Promise<Grant> {
    const loaded = await this.grants.load(grantId);
    if (!loaded) throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Your session has ended.', { reason: 'grant missing' });
    if (!this.due(loaded.grant)) return loaded.grant;
    let pending = this.inFlight.get(grantId);
    if (!pending) {
      pending = this.renew(loaded).finally(() => this.inFlight.delete(grantId));
      this.inFlight.set(grantId, pending);
    }
    return pending;
  }

  private due(g: Grant): boolean {
    return g.expiresAt - this.opts.skewMs <= this.now();
  }

  private async renew(loaded: LoadedGrant): Promise<Grant> {
    const { grant } = loaded;
    const log = this.opts.log.child({ tenantId: grant.tenantId });
    if (!grant.refreshToken) return this.keepOrFail(grant, 'no refresh token');
    const tenant = await this.directory.getTenant(grant.tenantId);
    const cred = tenant && (await this.directory.getAppCredential(grant.tenantId, this.opts.appId));
    if (!tenant || !cred) {
      await this.grants.delete(grant.id);
      throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Your session has ended.', { reason: 'tenant or app credentials removed' });
    }
    try {
      const tokens = await this.oauth.refresh(tenant, cred, grant.refreshToken);
      const stored = await this.grants.replace(loaded, tokens);
      if (stored) {
        log.info('access token renewed', { grantVersion: stored.version });
        return stored;
      }
      // Someone renewed (or ended) the grant between our read and our write: theirs wins.
      const current = await this.grants.load(grant.id);
      if (!current) throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Your session has ended.', { reason: 'grant removed during renewal' });
      return current.grant;
    } catch (e) {
      if (e instanceof KoogateError && (e.code === 'KOOGATE_GRANT_INVALID' || e.code === 'KOOGATE_CLIENT_REJECTED')) {
        log.info('refresh refused; session ends', { error: e.detail.error, status: e.detail.status });
        await this.grants.delete(grant.id);
        throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Your session has ended. Please sign in again.', { reason: 'refresh refused' });
      }
      if (e instanceof KoogateError && e.code === 'KOOGATE_MARKETPLACE_UNAVAILABLE') {
        log.warn('token renewal failed; marketplace unavailable', { reason: e.detail.reason, status: e.detail.status });
        return this.keepOrFail(grant, 'marketplace unavailable');
      }
      throw e;
    }
  }

  /** While the current token is still valid the user keeps working; the next request tries again. */
  private keepOrFail(grant: Grant, reason: string): Grant {
    if (grant.expiresAt > this.now()) return grant;
    if (reason === 'no refresh token') {
      throw new KoogateError('KOOGATE_SESSION_EXPIRED', 'Your session has ended. Please sign in again.', { reason });
    }
    throw new KoogateError('KOOGATE_MARKETPLACE_UNAVAILABLE', 'The marketplace could not be reached. Please try again shortly.', { reason });
  }
}
