/**
 * Starts a timer that calls `fire` after `ms`; the returned function cancels it. The router's deadlines
 * use real timers; tests hand in one they fire themselves, so no test waits on the wall clock.
 */
export type DeadlineTimer = (ms: number, fire: () => void) => () => void;

export const realTimer: DeadlineTimer = (ms, fire) => {
  const t = setTimeout(fire, ms);
  return () => clearTimeout(t);
};

/** Resolves true when `p` settles in time, false when `ms` pass first; rejects when `p` does in time. */
export function within(p: Promise<void>, ms: number, timer: DeadlineTimer = realTimer): Promise<boolean> {
  return new Promise((ok, fail) => {
    const cancel = timer(Math.max(0, ms), () => ok(false));
    p.then(
      () => {
        cancel();
        ok(true);
      },
      (e: unknown) => {
        cancel();
        fail(e);
      },
    );
  });
}
