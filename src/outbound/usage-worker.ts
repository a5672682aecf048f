import type { Logger } from '../observability/logger';
import { QueuePoller } from '../store/queue-poller';
import type { KeyValueStore, QueueClaim, QueueSettlement } from '../store/store';
import { retryDelay } from '../core/backoff';
import { pushUsage, USAGE_CODES, type UsagePushResult, type UsagePushTarget } from './usage-api';
import { decodeQueued, KEEP_ALL, USAGE_QUEUE, USAGE_SOLO_QUEUE, type QueuedUsage, type UsageLedger } from './usage-ledger';
import { MAX_RECORDS, spanKey, type UsageRecord, type UsageState } from './usage-record';

/** What the worker reports for the metrics; each call counts records that reached a state. */
export interface UsageEvents {
  recordsReached(state: UsageState, n: number): void;
}

export interface UsageWorkerOptions {
  store: KeyValueStore;
  ledger: UsageLedger;
  target: UsagePushTarget;
  retryBaseMs: number;
  pollMs: number;
  log: Logger;
  events?: UsageEvents;
  now?: () => number;
  random?: () => number;
}

/** Records of refused batches pushed one by one, this many side by side. */
const SOLO_BATCH = 16;
/** Time after the push's timeout (per host) to record its outcome before the claim's lease runs out. */
const SETTLE_MARGIN_MS = 5000;

/**
 * Pushes queued usage records to the marketplace in batches of at most 1000, one worker per process. The
 * store's claim gives each due record to one replica at a time, so two replicas never push one batch; an
 * outcome is recorded only under the claim that took the records. A push that got no verdict (connection,
 * 5xx, koogate's key refused) is retried with back-off until accepted; a batch the marketplace refused
 * goes record by record through the solo queue, so each refusal is recorded against its own record.
 */
export class UsageWorker {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly batches: QueuePoller;
  private readonly solos: QueuePoller;

  constructor(private readonly opts: UsageWorkerOptions) {
    this.log = opts.log.child({ component: 'usage' });
    this.now = opts.now ?? Date.now;
    const leaseMs = opts.target.hosts.timeoutMs * opts.target.hosts.bases.length + SETTLE_MARGIN_MS;
    const common = { store: opts.store, leaseMs, pollMs: opts.pollMs, log: this.log };
    this.batches = new QueuePoller({ ...common, queue: USAGE_QUEUE, max: MAX_RECORDS, handle: (b, stop) => this.pushBatch(USAGE_QUEUE, b, stop) });
    this.solos = new QueuePoller({ ...common, queue: USAGE_SOLO_QUEUE, max: SOLO_BATCH, handle: (b, stop) => Promise.all(b.map((c) => this.pushBatch(USAGE_SOLO_QUEUE, [c], stop))).then(() => undefined) });
  }

  start(): void {
    this.batches.start();
    this.solos.start();
  }

  /** Records were just queued here: push them now rather than at the next poll. */
  wake(): void {
    this.batches.wake();
  }

  async stop(): Promise<void> {
    await Promise.all([this.batches.stop(), this.solos.stop()]);
  }

  private async pushBatch(queue: string, claims: QueueClaim[], stop: AbortSignal): Promise<void> {
    const entries: { claim: QueueClaim; queued: QueuedUsage }[] = [];
    for (const c of claims) {
      const queued = decodeQueued(c.payload);
      if (queued) entries.push({ claim: c, queued });
      else {
        this.log.error('usage queue entry unreadable; dropped', { meteringSn: c.id });
        await this.settle(queue, c, { kind: 'remove' });
      }
    }
    if (entries.length === 0) return;
    const records = entries.map((e) => e.queued.record);
    const started = this.now();
    const result = await pushUsage(this.opts.target, records, this.now, stop);
    const fields = { queue, records: records.length, ms: this.now() - started };
    if (result.kind === 'accepted') {
      this.log.info('usage records accepted', fields);
      return this.finish(queue, entries, 'accepted', () => ({ acceptedAt: this.now() }));
    }
    if (result.kind === 'retry') {
      if (result.stopped) {
        await Promise.all(entries.map((e) => this.settle(queue, e.claim, { kind: 'retry', payload: e.claim.payload, delayMs: 0 })));
        return;
      }
      return this.retry(queue, entries, result.error, fields);
    }
    if (entries.length > 1) {
      // Which record was refused is not said: each goes alone through the solo queue.
      this.log.warn('usage batch refused; pushing its records one by one', { ...fields, code: result.code, reason: result.message });
      await Promise.all(entries.map((e) => this.settle(queue, e.claim, { kind: 'move', queue: USAGE_SOLO_QUEUE, payload: e.claim.payload, keep: KEEP_ALL })));
      this.solos.wake();
      return;
    }
    return this.refuse(queue, entries[0]!, result);
  }

  private async retry(queue: string, entries: { claim: QueueClaim; queued: QueuedUsage }[], error: string, fields: Record<string, unknown>): Promise<void> {
    const attempts = Math.max(...entries.map((e) => e.queued.attempts)) + 1;
    const delayMs = retryDelay(attempts, this.opts.retryBaseMs, this.opts.random);
    const log = /MKT\.0151|HTTP 40[13]/.test(error) ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
    log('usage push failed; will retry', { ...fields, attempt: attempts, reason: error, retryInMs: delayMs });
    const at = this.now();
    await Promise.all(
      entries.map(async (e) => {
        const next: QueuedUsage = { ...e.queued, attempts: e.queued.attempts + 1 };
        if (await this.settle(queue, e.claim, { kind: 'retry', payload: JSON.stringify(next), delayMs })) {
          await this.record(e.queued.record.metering_sn, (s) => ({ ...s, attempts: next.attempts, lastAttemptAt: at, lastError: error }));
        }
      }),
    );
  }

  private async refuse(queue: string, e: { claim: QueueClaim; queued: QueuedUsage }, result: Extract<UsagePushResult, { kind: 'refused' }>): Promise<void> {
    const state: UsageState = result.code === USAGE_CODES.duplicate ? 'duplicate' : 'rejected';
    const sn = e.queued.record.metering_sn;
    this.log.warn(state === 'duplicate' ? 'usage record is a duplicate at the marketplace' : 'usage record rejected by the marketplace', {
      meteringSn: sn,
      instanceId: e.queued.record.instance_id,
      code: result.code,
      reason: result.message,
    });
    // A rejected record no longer holds its period: the app may send a corrected one (with a new metering_sn).
    if (state === 'rejected') await this.releasePeriod(e.queued.record);
    await this.finish(queue, [e], state, () => ({ attempts: e.queued.attempts + 1, lastAttemptAt: this.now(), rejection: { code: result.code, message: result.message } }));
  }

  private async finish(queue: string, entries: { claim: QueueClaim; queued: QueuedUsage }[], state: UsageState, extra: () => Record<string, unknown>): Promise<void> {
    let n = 0;
    await Promise.all(
      entries.map(async (e) => {
        if (!(await this.settle(queue, e.claim, { kind: 'remove' }))) return;
        n++;
        await this.record(e.queued.record.metering_sn, (s) => ({ ...s, ...extra(), state }));
      }),
    );
    if (n > 0) this.opts.events?.recordsReached(state, n);
  }

  private async releasePeriod(r: UsageRecord): Promise<void> {
    await this.opts.store.delIfEquals(`usage:span:${spanKey(r)}`, r.metering_sn).catch(() => false);
  }

  private async record(sn: string, change: Parameters<UsageLedger['update']>[1]): Promise<void> {
    try {
      await this.opts.ledger.update(sn, change);
    } catch (e) {
      this.log.error('usage record state not written', { meteringSn: sn, err: e instanceof Error ? e.message : String(e) });
    }
  }

  /** True when the outcome was recorded under this claim. */
  private async settle(queue: string, c: QueueClaim, how: QueueSettlement): Promise<boolean> {
    try {
      const held = await this.opts.store.queueSettle(queue, c.id, c.claim, how);
      if (!held) this.log.warn('usage claim lapsed before its outcome was recorded; the record may be pushed again', { meteringSn: c.id });
      return held;
    } catch (e) {
      this.log.error('usage outcome not recorded; the record is pushed again when its claim lapses', { meteringSn: c.id, err: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }
}
