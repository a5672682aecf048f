import type { Logger, LogFields } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { QueuePoller } from '../store/queue-poller';
import type { KeyValueStore, QueueClaim, QueueSettlement } from '../store/store';
import { DEAD_LETTERS_KEPT, decodeDelivery, encodeDelivery, WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE, type Delivery } from './delivery';
import { postEvent, type WebhookTarget } from './post';
import { nextRetry, type RetryPolicy } from './retry';

export interface WebhookWorkerOptions {
  store: KeyValueStore;
  target: WebhookTarget;
  policy: RetryPolicy;
  /** How often the queue is checked for due events (retries, and events other replicas queued). */
  pollMs: number;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
}

/** Events one replica takes at once and posts side by side. */
const BATCH = 16;
/** Time after the app's timeout to record an attempt's outcome before the claim's lease runs out. */
const SETTLE_MARGIN_MS = 5000;

/**
 * Posts queued events to the app, one worker per process. Every replica's worker polls the shared queue
 * (store/queue-poller.ts); a claim (with a lease) lets exactly one of them post an event at a time, and an
 * event whose replica died mid-attempt is taken again when the lease ends. Delivery is at least once: an
 * outcome that cannot be recorded (store down, lease lapsed) means the event is posted again later.
 */
export class WebhookWorker {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly poller: QueuePoller;

  constructor(private readonly opts: WebhookWorkerOptions) {
    this.log = opts.log.child({ component: 'webhook' });
    this.now = opts.now ?? Date.now;
    this.poller = new QueuePoller({
      store: opts.store,
      queue: WEBHOOK_QUEUE,
      leaseMs: opts.target.timeoutMs + SETTLE_MARGIN_MS,
      max: BATCH,
      pollMs: opts.pollMs,
      log: this.log,
      handle: async (batch, stop) => {
        await Promise.all(batch.map((c) => this.attempt(c, stop)));
      },
    });
  }

  start(): void {
    this.poller.start();
  }

  /** Checks the queue now rather than at the next poll (an event was just queued here). */
  wake(): void {
    this.poller.wake();
  }

  /**
   * Stops polling and cuts attempts in flight short; their events are handed back to the queue at once
   * (the attempt not counted) for another replica or the next start. The store must still be open.
   */
  stop(): Promise<void> {
    return this.poller.stop();
  }

  private async attempt(c: QueueClaim, stop: AbortSignal): Promise<void> {
    const d = decodeDelivery(c.payload);
    if (!d) {
      this.log.error('webhook queue entry unreadable; dropped', { delivery: c.id });
      return this.settle(c, { kind: 'remove' }, { delivery: c.id });
    }
    const attempt = d.attempts + 1;
    const fields: LogFields = { delivery: c.id, event: d.event, tenantId: d.tenantId, attempt };
    const started = this.now();
    const result = await postEvent(this.opts.target, { id: c.id, event: d.event, body: d.body }, stop, this.now);
    if (result.ok) {
      this.opts.metrics?.webhookDelivery('delivered');
      this.log.info('webhook delivered', { ...fields, status: result.status, ms: this.now() - started });
      return this.settle(c, { kind: 'remove' }, fields);
    }
    if (result.stopped) return this.settle(c, { kind: 'retry', payload: c.payload, delayMs: 0 }, fields);
    const failed: Delivery = { ...d, attempts: attempt, lastError: result.error };
    const delayMs = nextRetry(this.opts.policy, attempt, d.queuedAt, this.now(), this.opts.random);
    if (delayMs === null) {
      this.opts.metrics?.webhookDelivery('dead');
      this.log.error('webhook event given up, kept in the dead letters', { ...fields, reason: result.error, queuedAt: new Date(d.queuedAt).toISOString() });
      return this.settle(c, { kind: 'move', queue: WEBHOOK_DEAD_LETTERS, payload: encodeDelivery(failed), keep: DEAD_LETTERS_KEPT }, fields);
    }
    this.opts.metrics?.webhookDelivery('failed');
    this.log.warn('webhook delivery failed; will retry', { ...fields, reason: result.error, retryInMs: delayMs });
    return this.settle(c, { kind: 'retry', payload: encodeDelivery(failed), delayMs }, fields);
  }

  private async settle(c: QueueClaim, how: QueueSettlement, fields: LogFields): Promise<void> {
    try {
      const held = await this.opts.store.queueSettle(WEBHOOK_QUEUE, c.id, c.claim, how);
      if (!held) this.log.warn('webhook claim lapsed before its outcome was recorded; the event may be posted again', fields);
    } catch (e) {
      this.log.error('webhook outcome not recorded; the event is posted again when its claim lapses', { ...fields, err: e instanceof Error ? e.message : String(e) });
    }
  }
}
