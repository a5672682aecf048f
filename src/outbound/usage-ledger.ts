import type { KeyValueStore } from '../store/store';
import { spanKey, type UsageRecord, type UsageState } from './usage-record';
import { sortedJson } from './usage-signature';

/** Records waiting to be pushed (Redis: koogate:usage:queue:due, …:items, …:claims), id = metering_sn. */
export const USAGE_QUEUE = 'usage:queue';
/**
 * Records of a batch the marketplace refused, each pushed alone from here, so one bad record is recorded as
 * rejected and the others still go through.
 */
export const USAGE_SOLO_QUEUE = 'usage:solo';
/** Pushed with a `move` settlement; nothing is ever trimmed from it. */
export const KEEP_ALL = Number.MAX_SAFE_INTEGER;

/** A record's life as the app reads it back. */
export interface UsageStatus {
  record: UsageRecord;
  state: UsageState;
  /** When koogate took it (ms since the epoch). */
  receivedAt: number;
  /** Pushes that failed or were refused so far. */
  attempts: number;
  lastAttemptAt?: number;
  acceptedAt?: number;
  /** Why the last push failed (connection, HTTP status); never a secret. */
  lastError?: string;
  /** The marketplace's refusal of this record alone. */
  rejection?: { code: string; message: string };
  /** A duplicate: the metering_sn of the record with the same instance and period. */
  duplicateOf?: string;
}

/** What the queue holds per record between attempts. */
export interface QueuedUsage {
  record: UsageRecord;
  attempts: number;
  receivedAt: number;
}

export type IntakeResult =
  | { metering_sn: string; result: 'queued' }
  /** `state` is the stored record's state (the original's, for a repeated metering_sn). */
  | { metering_sn: string; result: 'duplicate'; reason: 'metering_sn' | 'period'; state: UsageState; duplicateOf?: string };

const snKey = (sn: string) => `usage:sn:${sn}`;
const spanKeyOf = (r: UsageRecord) => `usage:span:${spanKey(r)}`;
const statusKey = (sn: string) => `usage:record:${sn}`;

export function decodeQueued(raw: string): QueuedUsage | null {
  try {
    const v = JSON.parse(raw) as Partial<QueuedUsage>;
    if (!v || typeof v.record !== 'object' || v.record === null || typeof v.attempts !== 'number' || typeof v.receivedAt !== 'number') return null;
    return v as QueuedUsage;
  } catch {
    return null;
  }
}

/**
 * The usage records koogate holds, in the shared store: one status per metering_sn, the keys that make
 * duplicates (same metering_sn; same instance, begin and end), and the queue the worker drains. Everything
 * is kept for `retentionMs` after its last change, which is how long duplicates are recognised.
 */
export class UsageLedger {
  constructor(
    private readonly store: KeyValueStore,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes valid records in: each new one is queued, each duplicate is said to be one. Safe to repeat: a
   * record whose intake was cut short (store failure) is finished by the next post of it.
   */
  async intake(records: readonly UsageRecord[]): Promise<IntakeResult[]> {
    const out: IntakeResult[] = [];
    for (const r of records) out.push(await this.intakeOne(r));
    return out;
  }

  private async intakeOne(r: UsageRecord): Promise<IntakeResult> {
    const sn = r.metering_sn;
    const fingerprint = sortedJson(r);
    if (!(await this.store.setIfAbsent(snKey(sn), fingerprint, this.retentionMs))) {
      const status = await this.status(sn);
      // A status exists once an intake finished. Without one, the same record's earlier intake was cut short.
      if (status || (await this.store.get(snKey(sn))) !== fingerprint) {
        return { metering_sn: sn, result: 'duplicate', reason: 'metering_sn', state: status?.state ?? 'duplicate' };
      }
    }
    const receivedAt = this.now();
    if (!(await this.store.setIfAbsent(spanKeyOf(r), sn, this.retentionMs))) {
      const owner = await this.store.get(spanKeyOf(r));
      if (owner !== null && owner !== sn) {
        await this.writeStatus({ record: r, state: 'duplicate', receivedAt, attempts: 0, duplicateOf: owner });
        return { metering_sn: sn, result: 'duplicate', reason: 'period', state: 'duplicate', duplicateOf: owner };
      }
    }
    const queued: QueuedUsage = { record: r, attempts: 0, receivedAt };
    await this.store.queuePush(USAGE_QUEUE, sn, JSON.stringify(queued), 0);
    await this.writeStatus({ record: r, state: 'queued', receivedAt, attempts: 0 });
    return { metering_sn: sn, result: 'queued' };
  }

  async status(sn: string): Promise<UsageStatus | null> {
    const raw = await this.store.get(statusKey(sn));
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as UsageStatus;
    } catch {
      return null;
    }
  }

  async statuses(sns: readonly string[]): Promise<(UsageStatus | null)[]> {
    const raws = await this.store.mget(sns.map(statusKey));
    return raws.map((raw) => {
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as UsageStatus;
      } catch {
        return null;
      }
    });
  }

  /** Never moves a record out of a final state: an outcome recorded late (a lapsed claim) changes nothing. */
  async update(sn: string, change: (s: UsageStatus) => UsageStatus): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const raw = await this.store.get(statusKey(sn));
      if (raw === null) return;
      const cur = JSON.parse(raw) as UsageStatus;
      if (cur.state !== 'queued') return;
      const next = JSON.stringify(change(cur));
      if (await this.store.compareAndSet(statusKey(sn), raw, next, this.retentionMs)) return;
    }
  }

  private writeStatus(s: UsageStatus): Promise<void> {
    return this.store.set(statusKey(s.record.metering_sn), JSON.stringify(s), this.retentionMs);
  }
}
