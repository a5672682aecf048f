/** A retry's delay stops doubling at this many times the base: 5 minutes with the default 1 s. */
export const MAX_DELAY_FACTOR = 300;

/**
 * The delay after `failedAttempts` failures: the base doubled per failure up to its cap, then drawn
 * between half and all of that, so replicas that failed together do not all come back at once. Shared by
 * every queue that retries (webhook deliveries, order queries, usage pushes).
 */
export function retryDelay(failedAttempts: number, baseMs: number, random: () => number = Math.random): number {
  const nominal = Math.min(baseMs * MAX_DELAY_FACTOR, baseMs * 2 ** Math.min(Math.max(failedAttempts - 1, 0), 30));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}
