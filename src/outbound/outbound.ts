import type { OutboundSettings } from '../config/config';
import type { Logger } from '../observability/logger';
import type { KeyValueStore } from '../store/store';
import type { MarketplaceHosts } from './marketplace-hosts';
import type { InstanceOrderDetails } from './order-details';
import { OrderFetcher, type OnOrderFetched } from './order-fetcher';
import { UsageDeadlineWatch, type DeadlineCounts } from './usage-deadlines';
import { UsageLedger, type IntakeResult } from './usage-ledger';
import type { UsageEligibility, UsageRecord, UsageState } from './usage-record';
import { UsageWorker } from './usage-worker';

/** What the metrics hear of the outbound calls. */
export interface OutboundEvents {
  usageRecords(state: UsageState, n: number): void;
  usageDeadlines(counts: DeadlineCounts): void;
  orderQuery(outcome: 'fetched' | 'retried' | 'failed'): void;
}

/** What the admin API's usage routes need (admin/usage.ts). */
export interface UsageIntake {
  ledger: UsageLedger;
  eligibility(ids: readonly string[]): Promise<Map<string, UsageEligibility>>;
  /** Takes valid records in (queued or named duplicates), counts them and wakes the worker. */
  intake(records: readonly UsageRecord[]): Promise<IntakeResult[]>;
}

export interface OutboundOptions {
  settings: OutboundSettings;
  /** The basic access key signs usage pushes; without it usage reporting is off. */
  basicKey?: string;
  timeoutMs: number;
  store: KeyValueStore;
  log: Logger;
  /** Whether koogate knows an instance (the directory's instances). */
  instanceKnown(instanceId: string): Promise<boolean>;
  onOrderFetched?: OnOrderFetched;
  events?: OutboundEvents;
  /** How often queues are checked (the first push after a post is immediate). Default 1 s. */
  pollMs?: number;
  now?: () => number;
}

/** The basic calls that carry an order whose details koogate reads. */
const ORDER_ACTIVITIES = new Set(['newInstance', 'refreshInstance', 'upgradeInstance']);

/**
 * koogate's calls to KooGallery, built from one OutboundSettings: order details of new, renewed and
 * upgraded instances (with an AK/SK), and the usage records the app posts (with the basic access key).
 * Either is off, and says so at start, without its key.
 */
export class Outbound {
  readonly orders?: OrderFetcher;
  private readonly usage?: { ledger: UsageLedger; worker: UsageWorker; watch: UsageDeadlineWatch };

  constructor(private readonly opts: OutboundOptions) {
    const s = opts.settings;
    const hosts: MarketplaceHosts = { bases: s.apiBases, timeoutMs: opts.timeoutMs };
    const pollMs = opts.pollMs ?? Math.min(1000, s.retryBaseMs);
    if (s.aksk) {
      this.orders = new OrderFetcher({
        store: opts.store,
        target: { hosts, keys: s.aksk },
        retryBaseMs: s.retryBaseMs,
        pollMs,
        log: opts.log,
        onFetched: opts.onOrderFetched,
        onOutcome: opts.events && ((o) => opts.events!.orderQuery(o)),
        now: opts.now,
      });
    }
    if (opts.basicKey) {
      const ledger = new UsageLedger(opts.store, s.usage.retentionMs, opts.now);
      const worker = new UsageWorker({
        store: opts.store,
        ledger,
        target: { hosts, basicKey: opts.basicKey },
        retryBaseMs: s.retryBaseMs,
        pollMs,
        log: opts.log,
        events: opts.events && { recordsReached: (state, n) => opts.events!.usageRecords(state, n) },
        now: opts.now,
      });
      const watch = new UsageDeadlineWatch({
        store: opts.store,
        deadlines: { hourlyMs: s.usage.hourlyDeadlineMs, dailyMs: s.usage.dailyDeadlineMs },
        checkMs: 60_000,
        log: opts.log.child({ component: 'usage' }),
        onCounts: opts.events && ((c) => opts.events!.usageDeadlines(c)),
        now: opts.now,
      });
      this.usage = { ledger, worker, watch };
    }
  }

  /** What the admin API's usage routes need; undefined while usage reporting is off. */
  usageIntake(): UsageIntake | undefined {
    const u = this.usage;
    if (!u) return undefined;
    return {
      ledger: u.ledger,
      eligibility: (ids) => this.eligibility(ids),
      intake: async (records) => {
        const results = await u.ledger.intake(records);
        const queued = results.filter((r) => r.result === 'queued').length;
        if (queued > 0) {
          this.opts.events?.usageRecords('queued', queued);
          u.worker.wake();
        }
        if (results.length > queued) this.opts.events?.usageRecords('duplicate', results.length - queued);
        return results;
      },
    };
  }

  /**
   * A basic call was applied: queue the order query of a new, renewed or upgraded instance. One store
   * write; a failure is logged, never the basic call's: KooGallery would only send the call again.
   */
  async basicCallApplied(activity: string, body: { instanceId?: string; orderId?: string; orderLineId?: string }): Promise<void> {
    if (!this.orders || !ORDER_ACTIVITIES.has(activity) || !body.instanceId || !body.orderId) return;
    try {
      await this.orders.ask(body.instanceId, body.orderId, body.orderLineId || undefined, activity);
    } catch (e) {
      this.opts.log.error('order query not queued', { activity, instanceId: body.instanceId, orderId: body.orderId, err: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Order details by instance id, for the directory API. */
  async orderOf(instanceIds: readonly string[]): Promise<Map<string, InstanceOrderDetails>> {
    const out = new Map<string, InstanceOrderDetails>();
    if (!this.orders || instanceIds.length === 0) return out;
    const found = await this.orders.book.getMany(instanceIds);
    instanceIds.forEach((id, i) => {
      if (found[i]) out.set(id, found[i]);
    });
    return out;
  }

  private async eligibility(ids: readonly string[]): Promise<Map<string, UsageEligibility>> {
    const orders = await this.orderOf(ids);
    const out = new Map<string, UsageEligibility>();
    for (const id of ids) {
      const mode = orders.get(id)?.details?.chargingMode;
      if (mode === 'pay-per-use') out.set(id, 'pay-per-use');
      else if (mode !== undefined && mode !== 'unknown') out.set(id, 'not-pay-per-use');
      else out.set(id, (await this.opts.instanceKnown(id)) ? 'charging-mode-unknown' : 'unknown-instance');
    }
    return out;
  }

  start(): void {
    const log = this.opts.log;
    if (this.orders) log.info('order details on', { api: this.opts.settings.apiBases.map((u) => u.origin) });
    else log.info('order details off: set KOOGATE_MARKETPLACE_AK and KOOGATE_MARKETPLACE_SK to read the order of each instance');
    if (this.usage) log.info('usage reporting on', { route: '/_koogate/admin/usage' });
    else log.info('usage reporting off: it needs KOOGATE_BASIC_ACCESS_KEY, which signs the usage push');
    this.orders?.start();
    this.usage?.worker.start();
    this.usage?.watch.start();
  }

  /** Before the store closes: calls in flight are handed back to their queues. */
  async stop(): Promise<void> {
    await Promise.all([this.orders?.stop(), this.usage?.worker.stop(), this.usage?.watch.stop()]);
  }
}
