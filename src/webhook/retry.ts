/** How long koogate keeps trying to deliver one event. */
export interface RetryPolicy {
  /** Delay before the first retry; it doubles with each further one. */
  baseMs: number;
  maxAttempts: number;
  maxAgeMs: number;
}

/** The delay stops doubling at this many times the base: 5 minutes with the default 1 s. */
export const MAX_DELAY_FACTOR = 300;

/**
 * The delay after `failedAttempts` failures: the base doubled per failure up to its cap, then drawn
 * between half and all of that, so replicas that failed together do not all come back at once.
 */
export function retryDelay(failedAttempts: number, baseMs: number, random: () => number = Math.random): number {
  const nominal = Math.min(baseMs * MAX_DELAY_FACTOR, baseMs * 2 ** Math.min(Math.max(failedAttempts - 1, 0), 30));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
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
