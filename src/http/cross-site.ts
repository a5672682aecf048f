import type { IncomingHttpHeaders } from 'node:http';

/**
 * Why a request is cross-site, judged as browsers tell it: `Sec-Fetch-Site` other than `same-origin`
 * or `none` (a sibling `same-site` host counts too), or an `Origin` other than koogate's own, `null`
 * included. Undefined when neither says so (a same-origin page, or a client that is no browser).
 */
export function crossSiteReason(headers: IncomingHttpHeaders, ownOrigin: string): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'Sec-Fetch-Site is not same-origin';
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  if (origin === 'null') return 'Origin is null';
  return origin === ownOrigin ? undefined : 'Origin is another origin';
}

/** Methods that change nothing, by HTTP's rules: everything else is state-changing. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
