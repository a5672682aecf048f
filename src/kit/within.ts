/** Resolves true when `p` settles in time, false when `ms` pass first; rejects when `p` does in time. */
export function within(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => ok(false), Math.max(0, ms));
    p.then(
      () => {
        clearTimeout(timer);
        ok(true);
      },
      (e: unknown) => {
        clearTimeout(timer);
        fail(e);
      },
    );
  });
}
