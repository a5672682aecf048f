import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger';
import { watchConnection, type RedisClient } from '../store/redis';
import { StoreUnavailableError } from '../store/store';

/** What changed about sessions, told to every replica so that none keeps serving from a stale cache. */
export type Invalidation =
  /** A session ended. */
  | { kind: 'session'; sid: string }
  /** A user's or a tenant's sessions ended (`ended`), or only what is known of them changed (role). */
  | { kind: 'user'; tenantId: string; userName: string; ended: boolean }
  | { kind: 'tenant'; tenantId: string; ended: boolean };

export interface InvalidationBus {
  publish(msg: Invalidation): Promise<void>;
  subscribe(handler: (msg: Invalidation) => void): void;
  close(): Promise<void>;
}

/** One process: delivered in-process, synchronously. */
export class LocalBus implements InvalidationBus {
  private readonly events = new EventEmitter();
  async publish(msg: Invalidation) {
    this.events.emit('msg', msg);
  }
  subscribe(handler: (msg: Invalidation) => void) {
    this.events.on('msg', handler);
  }
  async close() {
    this.events.removeAllListeners();
  }
}

const CHANNEL = 'koogate:invalidate';

/**
 * Redis pub/sub between replicas. A message lost while a subscriber reconnects is bounded by the
 * session cache's short time to live, so a change is seen everywhere within that time at worst.
 */
export class RedisBus implements InvalidationBus {
  private readonly local = new LocalBus();
  private readonly sub: RedisClient;

  private constructor(
    private readonly pub: RedisClient,
    private readonly log: Logger,
  ) {
    this.sub = pub.duplicate();
    watchConnection(this.sub, log, 'pub/sub');
    this.sub.on('message', (_channel: string, text: string) => {
      try {
        void this.local.publish(JSON.parse(text) as Invalidation);
      } catch {
        this.log.warn('ignored a malformed invalidation message');
      }
    });
  }

  static async start(pub: RedisClient, log: Logger): Promise<RedisBus> {
    const bus = new RedisBus(pub, log);
    // A connection of its own (a subscribed connection can do nothing else); ioredis re-subscribes after a reconnect.
    await bus.sub.connect();
    await bus.sub.subscribe(CHANNEL);
    return bus;
  }

  async publish(msg: Invalidation) {
    // Apply here at once, then tell the others (our own copy of the message comes back too; harmless).
    await this.local.publish(msg);
    try {
      await this.pub.publish(CHANNEL, JSON.stringify(msg));
    } catch (e) {
      throw new StoreUnavailableError(e);
    }
  }
  subscribe(handler: (msg: Invalidation) => void) {
    this.local.subscribe(handler);
  }
  async close() {
    this.sub.disconnect();
    await this.local.close();
  }
}
