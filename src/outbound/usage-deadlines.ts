import type { Logger } from '../observability/logger';
import type { KeyValueStore } from '../store/store';
import { decodeQueued, USAGE_QUEUE, USAGE_SOLO_QUEUE } from './usage-ledger';
import { parseUsageTime, usagePeriod, type UsagePeriod } from './usage-record';

/** How long after its end_time the marketplace must have a record, by period (from the product's terms). */
export interface UsageDeadlines {
  hourlyMs: number;
  dailyMs: number;
}

export type DeadlineLevel = 'at_risk' | 'late';

/** Counts of records still waiting, by period and level, as the last check found them. */
export type DeadlineCounts = Record<UsagePeriod, Record<DeadlineLevel, number>>;

export interface DeadlineWatchOptions {
  store: KeyValueStore;
  deadlines: UsageDeadlines;
  checkMs: number;
  log: Logger;
  /** Receives every check's counts (the metrics' gauge). */
  onCounts?(counts: DeadlineCounts): void;
  now?: () => number;
}

/** Waiting records looked at per check; a queue longer than this is itself the alarm. */
const SCAN = 10_000;
/** Records warned about are remembered (per level) so each is logged once, up to this many. */
const REMEMBERED = 10_000;

/**
 * Watches the records that are not accepted yet. A record is at risk once less than half of the time
 * between its end_time and its deadline remains, and late once its deadline has passed: both are logged
 * once per record (warn, then error) and counted for the metrics.
 */
export class UsageDeadlineWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly warned: Record<DeadlineLevel, Set<string>> = { at_risk: new Set(), late: new Set() };
  private readonly now: () => number;
  private checking: Promise<void> | undefined;

  constructor(private readonly opts: DeadlineWatchOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.opts.checkMs);
    this.timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** One pass over the waiting records; resolves with the counts (also handed to onCounts). */
  check(): Promise<void> {
    this.checking ??= this.scan().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async scan(): Promise<void> {
    const counts: DeadlineCounts = { hourly: { at_risk: 0, late: 0 }, daily: { at_risk: 0, late: 0 } };
    let entries;
    try {
      entries = [...(await this.opts.store.queuePeek(USAGE_QUEUE, SCAN)), ...(await this.opts.store.queuePeek(USAGE_SOLO_QUEUE, SCAN))];
    } catch {
      return; // The queue's own poller reports the outage.
    }
    const now = this.now();
    for (const e of entries) {
      const q = decodeQueued(e.payload);
      if (!q) continue;
      const level = deadlineLevel(q.record, this.opts.deadlines, now);
      if (!level) continue;
      const period = usagePeriod(q.record);
      counts[period][level]++;
      const seen = this.warned[level];
      if (seen.has(e.id)) continue;
      if (seen.size >= REMEMBERED) seen.clear();
      seen.add(e.id);
      const fields = { meteringSn: e.id, instanceId: q.record.instance_id, period, endTime: q.record.end_time, attempts: q.attempts };
      if (level === 'late') this.opts.log.error('usage record missed its deadline and is still not accepted', fields);
      else this.opts.log.warn('usage record at risk of missing its deadline', fields);
    }
    this.opts.onCounts?.(counts);
  }
}

export function deadlineLevel(r: { begin_time: string; end_time: string }, d: UsageDeadlines, now: number): DeadlineLevel | undefined {
  const end = parseUsageTime(r.end_time);
  const window = usagePeriod(r) === 'hourly' ? d.hourlyMs : d.dailyMs;
  if (now >= end + window) return 'late';
  if (now >= end + window / 2) return 'at_risk';
  return undefined;
}
