import { retryDelay } from '../core/backoff';

export { MAX_DELAY_FACTOR, retryDelay } from '../core/backoff';

/** How long koogate keeps trying to deliver one event. */
export interface RetryPolicy {
  /** Delay before the first retry; it doubles with each further one. */
  baseMs: number;
  maxAttempts: number;
  maxAgeMs: number;
}

/**
 * After a failed attempt: the delay before the next one, or null when the event has had its attempts or
 * its time and goes to the dead letters. Age is judged only after a failure, so an event that waited out an
 * outage of every replica is still tried once.
 */
export function nextRetry(policy: RetryPolicy, failedAttempts: number, queuedAt: number, now: number, random?: () => number): number | null {
  if (failedAttempts >= policy.maxAttempts) return null;
  if (now - queuedAt >= policy.maxAgeMs) return null;
  return retryDelay(failedAttempts, policy.baseMs, random);
}
