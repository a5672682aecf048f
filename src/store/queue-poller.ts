import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger';
import type { KeyValueStore, QueueClaim } from './store';

export interface QueuePollerOptions {
  store: KeyValueStore;
  /** The store's delay queue this poller drains. */
  queue: string;
  /** How long a claim holds its entries: longer than handling them may take. */
  leaseMs: number;
  /** Entries taken at once, handed to `handle` together. */
  max: number;
  /** How often the queue is checked for due entries (retries, entries other replicas queued). */
  pollMs: number;
  log: Logger;
  /** Deals with every claimed entry (settling each with its claim); `stop` aborts when the poller stops. */
  handle(batch: QueueClaim[], stop: AbortSignal): Promise<void>;
}

/**
 * The loop around a delay queue of the store, one per queue and process: every replica's poller checks the
 * shared queue; a claim (with a lease) gives each due entry to one of them at a time, and an entry whose
 * replica died is taken again when its lease ends. Settling is `handle`'s job.
 */
export class QueuePoller {
  /** Claims are named per process and call, so a lapsed claim never settles an entry claimed since. */
  private readonly name = randomUUID();
  private claims = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private wakeAgain = false;
  private stopped = true;
  private readonly stopping = new AbortController();
  private storeDown = false;

  constructor(private readonly opts: QueuePollerOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Checks the queue now rather than at the next poll (an entry was just queued here). */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) this.wakeAgain = true;
    else this.schedule(0);
  }

  /** Stops polling, aborts the handling in flight and waits for it; the store must still be open. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.draining;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), ms);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  private run(): void {
    if (this.stopped || this.draining) return;
    this.draining = this.drain()
      .catch((e: unknown) => this.opts.log.error('queue worker failed', { queue: this.opts.queue, err: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        this.draining = undefined;
        if (this.stopped) return;
        const again = this.wakeAgain;
        this.wakeAgain = false;
        this.schedule(again ? 0 : this.opts.pollMs);
      });
  }

  /** Claims and handles due entries until fewer than a full batch are due. */
  private async drain(): Promise<void> {
    while (!this.stopped) {
      let batch: QueueClaim[];
      try {
        batch = await this.opts.store.queueClaim(this.opts.queue, `${this.name}:${++this.claims}`, this.opts.leaseMs, this.opts.max);
        if (this.storeDown) this.opts.log.info('queue reachable again', { queue: this.opts.queue });
        this.storeDown = false;
      } catch (e) {
        // Once per outage: the poll keeps trying quietly.
        if (!this.storeDown) this.opts.log.warn('queue unreachable; its entries wait', { queue: this.opts.queue, err: e instanceof Error ? e.message : String(e) });
        this.storeDown = true;
        return;
      }
      if (batch.length > 0) await this.opts.handle(batch, this.stopping.signal);
      if (batch.length < this.opts.max) return;
    }
  }
}
