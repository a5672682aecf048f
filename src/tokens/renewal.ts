import type { Directory } from '../directory/directory';
import { KoogateError } from '../core/errors';
import type { MarketplaceOAuth } from '../marketplace/oauth';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { KeyValueStore } from '../store/store';
import type { Grant, GrantStore, LoadedGrant } from './grant-store';
import { LeaseLock } from './lock';

export interface RenewalOptions {
  appId: string;
  skewMs: number;
  /** Initial lease of the cross-replica renewal lock; extended while the grant is in flight. */
  lockLeaseMs: number;
  /** How long a request waits for another replica's renewal before giving up on it. */
  waitMs: number;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
const POLL_MS = 25;

/** A grant good for at least the skew, or why the session it belongs to has ended. */
export type Freshness = { kind: 'fresh'; grant: Grant } | { kind: 'ended'; reason: string };

const fresh = (grant: Grant): Freshness => ({ kind: 'fresh', grant });
const ended = (reason: string): Freshness => ({ kind: 'ended', reason });

/**
 * Keeps a session's access token fresh while the user keeps using the app (docs/protocol.md §2.4), with one
 * refresh grant per session however many requests and replicas see it due:
 * 1. in-process single flight: concurrent requests of this process share one renewal;
 * 2. a lock in the shared store whose lease is extended while the grant is in flight; replicas that do
 *    not hold it wait for the grant to change;
 * 3. the grant is re-read after the lock is taken (another replica may have renewed already) and written
 *    by compare-and-set, so a stale write can never replace newer tokens.
 * When the marketplace is unreachable, renewal backs off (shared by all replicas) and the current token
 * serves while it is valid.
 */
export class TokenRenewal {
  private readonly inFlight = new Map<string, Promise<Freshness>>();
  private readonly now: () => number;
  private readonly lock: LeaseLock;

  constructor(
    private readonly grants: GrantStore,
    private readonly directory: Directory,
    private readonly oauth: MarketplaceOAuth,
    private readonly store: KeyValueStore,
    private readonly opts: RenewalOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.lock = new LeaseLock(store, { leaseMs: opts.lockLeaseMs });
  }

  /**
   * A grant whose access token is good for at least the skew, renewing it when due; `ended` when the
   * grant is gone or the refresh token is dead. Throws KOOGATE_MARKETPLACE_UNAVAILABLE when renewal
   * failed and the current token has run out.
   */
  async fresh(grantId: string): Promise<Freshness> {
    const loaded = await this.grants.load(grantId);
    if (!loaded) return ended('grant missing');
    if (!this.due(loaded.grant)) return fresh(loaded.grant);
    let pending = this.inFlight.get(grantId);
    if (!pending) {
      pending = this.renewAcrossReplicas(loaded).finally(() => this.inFlight.delete(grantId));
      this.inFlight.set(grantId, pending);
    }
    return pending;
  }

  due(g: Grant): boolean {
    return g.expiresAt - this.opts.skewMs <= this.now();
  }

  private async renewAcrossReplicas(first: LoadedGrant): Promise<Freshness> {
    const id = first.grant.id;
    const deadline = this.now() + this.opts.waitMs;
    let current = first;
    for (;;) {
      if (await this.store.get(backoffKey(id))) return this.keepOrFail(current.grant, 'renewal backing off after a marketplace failure');
      const held = await this.lock.tryWith(`renew:${id}`, async () => {
        const again = await this.grants.load(id);
        if (!again) return ended('grant removed');
        return this.due(again.grant) ? this.renew(again) : fresh(again.grant);
      });
      if (held) return held.value;
      // Another replica is renewing: wait for its result to land in the grant.
      await new Promise((r) => setTimeout(r, POLL_MS));
      const seen = await this.grants.load(id);
      if (!seen) return ended('grant removed');
      if (!this.due(seen.grant)) return fresh(seen.grant);
      current = seen;
      if (this.now() > deadline) return this.keepOrFail(current.grant, 'renewal by another replica did not finish in time');
    }
  }

  private async renew(loaded: LoadedGrant): Promise<Freshness> {
    const { grant } = loaded;
    const log = this.opts.log.child({ tenantId: grant.tenantId });
    if (!grant.refreshToken) return this.keepOrFail(grant, 'no refresh token', true);
    const tenant = await this.directory.getTenant(grant.tenantId);
    const cred = tenant && (await this.directory.getAppCredential(grant.tenantId, this.opts.appId));
    if (!tenant || !cred) {
      await this.grants.delete(grant.id);
      return ended('tenant or app credentials removed');
    }
    let answer;
    try {
      answer = await this.oauth.refresh(tenant, cred, grant.refreshToken);
    } catch (e) {
      if (e instanceof KoogateError && e.code === 'KOOGATE_MARKETPLACE_UNAVAILABLE') {
        this.opts.metrics?.renewal('unavailable');
        const waitMs = await this.backOff(grant.id);
        log.warn('token renewal failed; marketplace unavailable', { reason: e.detail.reason, status: e.detail.status, retryInMs: waitMs });
        return this.keepOrFail(grant, 'marketplace unavailable');
      }
      throw e;
    }
    if (answer.kind === 'refused') {
      this.opts.metrics?.renewal('refused');
      log.info('refresh refused; session ends', { error: answer.error, status: answer.status });
      await this.grants.delete(grant.id);
      return ended('refresh refused');
    }
    this.opts.metrics?.renewal('renewed');
    await this.store.del(backoffKey(grant.id), failuresKey(grant.id));
    const stored = await this.grants.replace(loaded, answer.tokens);
    if (stored) {
      log.info('access token renewed', { grantVersion: stored.version });
      return fresh(stored);
    }
    // Changed between our read and our write (ended, or renewed by a holder whose lease we outlived): theirs wins.
    const current = await this.grants.load(grant.id);
    if (!current) return ended('grant removed during renewal');
    return fresh(current.grant);
  }

  /** Doubles the shared pause before the next renewal attempt: 1 s, 2 s, 4 s … at most a minute. */
  private async backOff(grantId: string): Promise<number> {
    const attemptsKey = failuresKey(grantId);
    const attempts = Number((await this.store.get(attemptsKey)) ?? 0) + 1;
    const waitMs = Math.min(BACKOFF_MIN_MS * 2 ** (attempts - 1), BACKOFF_MAX_MS);
    await this.store.atomic([
      { op: 'set', key: attemptsKey, value: String(attempts), ttlMs: BACKOFF_MAX_MS * 4 },
      { op: 'set', key: backoffKey(grantId), value: '1', ttlMs: waitMs },
    ]);
    return waitMs;
  }

  /** While the current token is still valid the user keeps working; the next due request tries again. */
  private keepOrFail(grant: Grant, reason: string, final = false): Freshness {
    if (grant.expiresAt > this.now()) return fresh(grant);
    if (final) return ended(reason);
    throw new KoogateError('KOOGATE_MARKETPLACE_UNAVAILABLE', 'The marketplace could not be reached. Please try again shortly.', { reason });
  }
}

const backoffKey = (grantId: string) => `renew-backoff:${grantId}`;
const failuresKey = (grantId: string) => `renew-failures:${grantId}`;
