import type { Logger } from '../observability/logger';
import { QueuePoller } from '../store/queue-poller';
import type { KeyValueStore, QueueClaim, QueueSettlement } from '../store/store';
import { retryDelay } from '../core/backoff';
import { queryOrder, type OrderQueryTarget } from './order-api';
import type { InstanceOrderDetails } from './order-details';

/** Order queries waiting (Redis: koogate:order:queue:due, …), one entry per instance and order line. */
export const ORDER_QUEUE = 'order:queue';
/** An order still not readable this long after it was asked for is given up on (a day). */
export const ORDER_MAX_AGE_MS = 24 * 3600 * 1000;

const orderKey = (instanceId: string) => `instance:order:${instanceId}`;

interface OrderJob {
  instanceId: string;
  orderId: string;
  orderLineId?: string;
  reason: string;
  askedAt: number;
  attempts: number;
}

/** What the composition root hears once an instance's order details are stored (the webhook event). */
export type OnOrderFetched = (instanceId: string, order: InstanceOrderDetails) => Promise<void>;

export interface OrderFetcherOptions {
  store: KeyValueStore;
  target: OrderQueryTarget;
  retryBaseMs: number;
  pollMs: number;
  log: Logger;
  onFetched?: OnOrderFetched;
  /** Each attempt's outcome, for the metrics. */
  onOutcome?(outcome: 'fetched' | 'retried' | 'failed'): void;
  now?: () => number;
  random?: () => number;
}

/** Order details per instance, in the shared store, for the directory API and usage intake to read. */
export class OrderBook {
  constructor(private readonly store: KeyValueStore) {}

  async get(instanceId: string): Promise<InstanceOrderDetails | null> {
    return (await this.getMany([instanceId]))[0] ?? null;
  }

  async getMany(instanceIds: readonly string[]): Promise<(InstanceOrderDetails | null)[]> {
    const raws = await this.store.mget(instanceIds.map(orderKey));
    return raws.map((raw) => {
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as InstanceOrderDetails;
      } catch {
        return null;
      }
    });
  }

  /** Replaces the record unless a later ask (an upgrade's new order) has superseded `askedAt`. */
  async put(instanceId: string, askedAt: number, change: (cur: InstanceOrderDetails | null) => InstanceOrderDetails): Promise<boolean> {
    for (let i = 0; i < 5; i++) {
      const raw = await this.store.get(orderKey(instanceId));
      const cur = raw === null ? null : (JSON.parse(raw) as InstanceOrderDetails);
      if (cur && cur.askedAt > askedAt) return false;
      if (await this.store.compareAndSet(orderKey(instanceId), raw, JSON.stringify(change(cur)))) return true;
    }
    return false;
  }
}

/**
 * Reads the order of each new, renewed or upgraded instance from KooGallery's order query, in the
 * background: asking is one store write (the basic call's answer never waits for the marketplace), and
 * every replica's worker takes due queries from the shared queue, retrying with back-off until the order
 * is read or a day has passed.
 */
export class OrderFetcher {
  readonly book: OrderBook;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly poller: QueuePoller;

  constructor(private readonly opts: OrderFetcherOptions) {
    this.book = new OrderBook(opts.store);
    this.log = opts.log.child({ component: 'order-query' });
    this.now = opts.now ?? Date.now;
    const h = opts.target.hosts;
    this.poller = new QueuePoller({
      store: opts.store,
      queue: ORDER_QUEUE,
      leaseMs: h.timeoutMs * h.bases.length + 5000,
      max: 8,
      pollMs: opts.pollMs,
      log: this.log,
      handle: (batch, stop) => Promise.all(batch.map((c) => this.fetch(c, stop))).then(() => undefined),
    });
  }

  /** Queues the order query of an instance; resolves once it is stored. */
  async ask(instanceId: string, orderId: string, orderLineId: string | undefined, reason: string): Promise<void> {
    const askedAt = this.now();
    const job: OrderJob = { instanceId, orderId, orderLineId, reason, askedAt, attempts: 0 };
    await this.book.put(instanceId, askedAt, (cur) => ({
      ...(cur?.details ? { details: cur.details } : {}),
      state: 'pending',
      orderId,
      ...(orderLineId ? { orderLineId } : {}),
      reason,
      askedAt,
      attempts: 0,
      updatedAt: new Date(askedAt).toISOString(),
    }));
    await this.opts.store.queuePush(ORDER_QUEUE, `${instanceId}|${orderId}|${orderLineId ?? ''}`, JSON.stringify(job), 0);
    this.poller.wake();
  }

  start(): void {
    this.poller.start();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  private async fetch(c: QueueClaim, stop: AbortSignal): Promise<void> {
    let job: OrderJob;
    try {
      job = JSON.parse(c.payload) as OrderJob;
    } catch {
      this.log.error('order queue entry unreadable; dropped', { entry: c.id });
      await this.settle(c, { kind: 'remove' });
      return;
    }
    const fields = { instanceId: job.instanceId, orderId: job.orderId, orderLineId: job.orderLineId, attempt: job.attempts + 1 };
    const result = await queryOrder(this.opts.target, job.orderId, job.orderLineId, this.now, stop);
    if (result.kind === 'retry' && result.stopped) {
      await this.settle(c, { kind: 'retry', payload: c.payload, delayMs: 0 });
      return;
    }
    const at = new Date(this.now()).toISOString();
    if (result.kind === 'found') {
      if (!(await this.settle(c, { kind: 'remove' }))) return;
      let stored: InstanceOrderDetails | undefined;
      await this.book.put(job.instanceId, job.askedAt, (cur) => {
        stored = { ...(cur ?? baseOf(job)), state: 'fetched', details: result.details, attempts: job.attempts + 1, updatedAt: at };
        delete stored.lastError;
        return stored;
      });
      this.opts.onOutcome?.('fetched');
      // The order's buyer and product are not logged: the directory API has them.
      this.log.info('order details read', { ...fields, chargingMode: result.details.chargingMode, orderType: result.details.orderType });
      if (stored) await this.opts.onFetched?.(job.instanceId, stored).catch((e: unknown) => this.log.error('order details event not queued', { ...fields, err: e instanceof Error ? e.message : String(e) }));
      return;
    }
    const attempts = job.attempts + 1;
    const givenUp = this.now() - job.askedAt >= ORDER_MAX_AGE_MS;
    const delayMs = retryDelay(attempts, this.opts.retryBaseMs, this.opts.random);
    const how: QueueSettlement = givenUp ? { kind: 'remove' } : { kind: 'retry', payload: JSON.stringify({ ...job, attempts }), delayMs };
    if (!(await this.settle(c, how))) return;
    await this.book.put(job.instanceId, job.askedAt, (cur) => ({ ...(cur ?? baseOf(job)), state: givenUp ? 'failed' : 'pending', attempts, lastError: result.error, updatedAt: at }));
    this.opts.onOutcome?.(givenUp ? 'failed' : 'retried');
    if (givenUp) this.log.error('order query given up', { ...fields, reason: result.error });
    else this.log.warn('order query failed; will retry', { ...fields, reason: result.error, retryInMs: delayMs });
  }

  private async settle(c: QueueClaim, how: QueueSettlement): Promise<boolean> {
    try {
      const held = await this.opts.store.queueSettle(ORDER_QUEUE, c.id, c.claim, how);
      if (!held) this.log.warn('order query claim lapsed before its outcome was recorded', { entry: c.id });
      return held;
    } catch (e) {
      this.log.error('order query outcome not recorded; asked again when its claim lapses', { entry: c.id, err: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }
}

function baseOf(job: OrderJob): InstanceOrderDetails {
  return { state: 'pending', orderId: job.orderId, ...(job.orderLineId ? { orderLineId: job.orderLineId } : {}), reason: job.reason, askedAt: job.askedAt, attempts: 0, updatedAt: new Date(job.askedAt).toISOString() };
}
