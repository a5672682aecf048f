/** `/exact` or `/prefix/*` entries of KOOGATE_PUBLIC_PATHS, matched against the normalised path. */
export function publicPathMatcher(patterns: readonly string[]): (path: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  if (exact.size === 0 && prefixes.length === 0) return () => false;
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}
