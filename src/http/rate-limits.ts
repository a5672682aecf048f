import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Rate } from '../config/kinds';
import { KoogateError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { RedisClient } from '../store/redis';


/** The limited route groups. */
export const LIMITS = ['login', 'api', 'kit'] as const;
export type LimitName = (typeof LIMITS)[number];

/** Each group's rate, or null: that group is not limited. */
export type RateSettings = Record<LimitName, Rate | null>;

export interface RateLimitsOptions {
  rates: RateSettings;
  /** The shared store's client: the counts are shared by every replica. Without one, counts are per process. */
  redis?: RedisClient;
  /** Key prefix of the counters in Redis (koogate's own, so a Cluster keeps them in its slot). */
  prefix: string;
  log: Logger;
  /** Told of every refused request (metrics). */
  onRefused?: (limit: LimitName) => void;
}

/**
 * Per-client-address rate limits in the shared store, so that a client spreading requests over replicas
 * meets one limit. The address is express's `req.ip`, which follows KOOGATE_TRUST_PROXY: behind a trusted
 * proxy the client's, otherwise the connection's (a client cannot pick its own bucket with X-Forwarded-For).
 * A store that cannot be reached never blocks anyone: the request passes and the log says so, once per outage.
 */
export class RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterAbstract>();
  private readonly log: Logger;
  private storeDown = false;

  constructor(private readonly o: RateLimitsOptions) {
    this.log = o.log.child({ component: 'rate-limit' });
    for (const name of LIMITS) {
      const rate = o.rates[name];
      if (!rate) continue;
      const common = { keyPrefix: `${o.prefix}rl:${name}`, points: rate.points, duration: rate.seconds };
      this.limiters.set(name, o.redis ? new RateLimiterRedis({ ...common, storeClient: o.redis, rejectIfRedisNotReady: true }) : new RateLimiterMemory(common));
    }
  }

  /** Middleware that counts the request against `name` and answers 429 (through the error handler) over it. */
  middleware(name: LimitName): RequestHandler {
    const limiter = this.limiters.get(name);
    if (!limiter) return (_req, _res, next) => next();
    return (req, _res, next) => {
      const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      limiter.consume(client).then(
        () => {
          this.storeReachable();
          next();
        },
        (e: unknown) => {
          if (!(e instanceof RateLimiterRes)) return this.storeUnreachable(e, next);
          this.storeReachable();
          this.o.onRefused?.(name);
          const retryAfterSeconds = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
          next(new KoogateError('KOOGATE_RATE_LIMITED', 'Too many requests.', { limit: name, client, retryAfterSeconds }));
        },
      );
    };
  }

  private storeUnreachable(e: unknown, next: () => void): void {
    if (!this.storeDown) this.log.warn('rate limits not applied: the store is unreachable; requests pass', { err: e instanceof Error ? e.message : String(e) });
    this.storeDown = true;
    next();
  }

  private storeReachable(): void {
    if (this.storeDown) this.log.info('rate limits applied again: the store is reachable');
    this.storeDown = false;
  }
}
