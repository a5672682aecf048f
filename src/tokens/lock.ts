import { randomBytes } from 'node:crypto';
import type { KeyValueStore } from '../store/store';

export interface LeaseLockOptions {
  /** How long the lock holds without renewal; extended every third of it while the work runs. */
  leaseMs: number;
}

/**
 * A lock in the shared store whose lease is extended while its holder works, so a slow grant at the
 * marketplace never lets a second replica in. Released only by its holder (compare-and-delete).
 */
export class LeaseLock {
  constructor(
    private readonly store: KeyValueStore,
    private readonly opts: LeaseLockOptions,
  ) {}

  /** Runs `work` holding the lock and returns its result, or returns `undefined` at once when another holds it. */
  async tryWith<T>(name: string, work: () => Promise<T>): Promise<{ value: T } | undefined> {
    const key = `lock:${name}`;
    const token = randomBytes(12).toString('base64url');
    if (!(await this.store.setIfAbsent(key, token, this.opts.leaseMs))) return undefined;
    const timer = setInterval(() => {
      this.store.expireIfEquals(key, token, this.opts.leaseMs).catch(() => {
        /* the next tick tries again; the lease bounds the damage */
      });
    }, Math.max(10, Math.floor(this.opts.leaseMs / 3)));
    timer.unref();
    try {
      return { value: await work() };
    } finally {
      clearInterval(timer);
      await this.store.delIfEquals(key, token).catch(() => undefined);
    }
  }
}
