import type { WebhookSettings } from '../config/config';
import type { KitCallApplied } from '../kit/router';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { KeyValueStore } from '../store/store';
import { encodeDelivery, WEBHOOK_QUEUE } from './delivery';
import { webhookEvent } from './event';
import { WebhookWorker } from './worker';

export interface WebhookOptions {
  settings: WebhookSettings;
  store: KeyValueStore;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  random?: () => number;
}

/** The queue is checked every second, or every base retry delay when that is shorter. */
const POLL_MS = 1000;

/**
 * The webhook to the app: every applied kit call becomes one event in the shared store's queue, which
 * every replica's worker drains. Queuing is all the kit answer waits for; posting happens after it.
 */
export class Webhook {
  private readonly worker: WebhookWorker;
  private readonly now: () => number;

  constructor(private readonly opts: WebhookOptions) {
    const s = opts.settings;
    this.now = opts.now ?? Date.now;
    this.worker = new WebhookWorker({
      store: opts.store,
      target: { url: s.url, secrets: s.secrets, timeoutMs: s.timeoutMs },
      policy: { baseMs: s.retryBaseMs, maxAttempts: s.maxAttempts, maxAgeMs: s.maxAgeSeconds * 1000 },
      pollMs: Math.min(POLL_MS, s.retryBaseMs),
      log: opts.log,
      metrics: opts.metrics,
      now: opts.now,
      random: opts.random,
    });
  }

  /** Queues the event of an applied kit call; resolves once it is stored, and wakes this replica's worker. */
  async publish(call: KitCallApplied): Promise<void> {
    const event = webhookEvent(call);
    const tenantId = typeof event.data.tenantId === 'string' ? event.data.tenantId : undefined;
    const payload = encodeDelivery({ body: JSON.stringify(event), event: event.interface, tenantId, attempts: 0, queuedAt: this.now() });
    await this.opts.store.queuePush(WEBHOOK_QUEUE, event.id, payload, 0);
    this.worker.wake();
  }

  start(): void {
    // The path only: a query string may hold something the app treats as a credential.
    const url = this.opts.settings.url;
    this.opts.log.info('webhook on', { target: `${url.origin}${url.pathname}`, store: this.opts.store.kind });
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }
}
