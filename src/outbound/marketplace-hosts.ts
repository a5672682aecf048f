/**
 * Where koogate's own calls to KooGallery go (order query, usage push). Huawei documents a second host for
 * these open APIs: "when mkt.myhuaweicloud.com is unavailable, retry with mkt.myhuaweicloud.cn". koogate
 * tries the second host only when the first gave no HTTP answer at all (refused, reset, TLS failure, no
 * answer in time); an HTTP answer, whatever its status, is the marketplace's word.
 */
export interface MarketplaceHosts {
  /** The primary host first, then the fallback, if any. Base URLs: a path they carry is kept. */
  bases: readonly URL[];
  timeoutMs: number;
}

/** An HTTP answer, read whole (the open APIs answer small JSON bodies). */
export interface HostAnswer {
  status: number;
  /** null when the body is not JSON. */
  json: unknown;
  base: URL;
}

export type HostOutcome = { ok: true; answer: HostAnswer } | { ok: false; error: string; stopped?: boolean };

/** Answers above this size are cut off and count as unreadable. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export function apiUrl(base: URL, path: string, query?: Record<string, string | undefined>): URL {
  const u = new URL(base.href.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, v);
  return u;
}

/**
 * One call, primary host first. `request` builds the fetch arguments for a host (the signature covers the
 * host, so it is computed per host). TLS is Node's default: certificates are verified against the system's
 * trust store and never skipped. Redirects are not followed (a signed request is for its own URL).
 */
export async function callMarketplace(hosts: MarketplaceHosts, request: (base: URL) => { url: URL; init: RequestInit }, stop: AbortSignal): Promise<HostOutcome> {
  const errors: string[] = [];
  for (const base of hosts.bases) {
    const { url, init } = request(base);
    const timeout = AbortSignal.timeout(hosts.timeoutMs);
    try {
      const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.any([stop, timeout]) });
      const text = await readCapped(res);
      let json: unknown = null;
      try {
        json = text === undefined ? null : JSON.parse(text);
      } catch {
        json = null;
      }
      return { ok: true, answer: { status: res.status, json, base } };
    } catch (e) {
      if (stop.aborted) return { ok: false, error: 'koogate stopping', stopped: true };
      errors.push(`${base.host}: ${timeout.aborted ? `no answer within ${hosts.timeoutMs} ms` : describe(e)}`);
    }
  }
  return { ok: false, error: errors.join('; ') };
}

async function readCapped(res: Response): Promise<string | undefined> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_ANSWER_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const buf = Buffer.from(await res.arrayBuffer());
  return buf.length > MAX_ANSWER_BYTES ? undefined : buf.toString('utf8');
}

/** fetch says "fetch failed"; the reason (ECONNREFUSED, a certificate error) is in its cause. */
function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
