import type { RequestHandler } from 'express';
import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Rate } from '../config/kinds';
import { KoogateError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { RedisClient } from '../store/redis';

/**
 * The bucket an address counts in: an IPv4 address on its own (an IPv4-mapped IPv6 one as that IPv4),
 * an IPv6 address by its /64, the smallest block a provider gives one customer: whoever holds one can
 * take any of its 2^64 addresses, and one bucket per address would let them step round every limit.
 * A string that is no address (a test's, a socket's "unknown") is its own bucket.
 */
export function clientBucket(address: string): string {
  const ip = address.split('%')[0]!;
  if (isIPv4(ip) || !isIPv6(ip)) return address;
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address: `::` expanded, a dotted IPv4 tail as two groups. */
function ipv6Groups(ip: string): number[] {
  const part = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const gap = ip.indexOf('::');
  if (gap < 0) return part(ip);
  const head = part(ip.slice(0, gap));
  const tail = part(ip.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

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
 * proxy the client's, otherwise the connection's (a client cannot pick its own bucket with X-Forwarded-For);
 * IPv6 addresses count by their /64 (`clientBucket`).
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
      limiter.consume(clientBucket(client)).then(
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
