/**
 * Pages over a sorted list of keys (user names, department codes, tenant ids). A cursor is the last key
 * of the previous page, so a page stays correct while keys are added or removed between requests; an
 * offset is offered too for clients that want page numbers.
 */
export interface PageRequest {
  limit: number;
  /** Keys strictly after this one. */
  after?: string;
  /** Or: skip this many keys. */
  offset?: number;
}

export interface Page<T> {
  items: T[];
  /** All keys, not only this page's. */
  total: number;
  /** Where the next page starts; null on the last page. */
  next: { after: string } | { offset: number } | null;
}

export function pageOfKeys(sortedKeys: readonly string[], req: PageRequest): { keys: string[]; total: number; next: Page<never>['next'] } {
  let start = 0;
  if (req.offset !== undefined) start = req.offset;
  else if (req.after !== undefined) {
    const after = req.after;
    start = lowerBound(sortedKeys, after);
    if (sortedKeys[start] === after) start++;
  }
  const keys = sortedKeys.slice(start, start + req.limit);
  const end = start + keys.length;
  let next: Page<never>['next'] = null;
  if (end < sortedKeys.length && keys.length > 0) next = req.offset !== undefined ? { offset: end } : { after: keys[keys.length - 1]! };
  return { keys, total: sortedKeys.length, next };
}

/** UTF-16 code-unit order, the same on every replica and in every language runtime that sorts strings so. */
export function sortKeys(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
