import type { RequestTarget } from './request-target';

/**
 * `/exact` or `/prefix/*` entries of KOOGATE_PUBLIC_PATHS, matched against the resolved path of the
 * request (http/request-target.ts). A path that servers could still read another way (`;`, an encoded
 * `/`, `\\`, `.` or `%`) is never public: it needs a session like any other.
 */
export function publicPathMatcher(patterns: readonly string[]): (target: RequestTarget) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  if (exact.size === 0 && prefixes.length === 0) return () => false;
  return ({ path, plain }) => plain && (exact.has(path) || prefixes.some((p) => path.startsWith(p)));
}
