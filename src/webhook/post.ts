import { webhookSignature } from './signature';

/** Where deliveries go and how long the app has to answer each. */
export interface WebhookTarget {
  url: URL;
  secrets: readonly string[];
  timeoutMs: number;
}

export type PostResult =
  | { ok: true; status: number }
  /** `stopped`: koogate is shutting down and cut the attempt short; it does not count as a failure. */
  | { ok: false; error: string; stopped?: boolean };

/**
 * One signed POST of an event to the app. Only a 2xx answer delivers it; any other status, a redirect (not
 * followed: the signature is for this URL), a refused connection or no answer in time is a failure.
 */
export async function postEvent(
  target: WebhookTarget,
  delivery: { id: string; event: string; body: string },
  stop: AbortSignal,
  now: () => number,
): Promise<PostResult> {
  const t = Math.floor(now() / 1000);
  const timeout = AbortSignal.timeout(target.timeoutMs);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'koogate-webhook',
        'x-koogate-event': delivery.event,
        'x-koogate-delivery': delivery.id,
        'x-koogate-signature': webhookSignature(target.secrets, delivery.body, t),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.any([stop, timeout]),
    });
    // The answer's body means nothing here; dropping it frees the connection.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, error: `HTTP ${res.status}` };
  } catch (e) {
    if (stop.aborted) return { ok: false, error: 'koogate stopping', stopped: true };
    if (timeout.aborted) return { ok: false, error: `no answer within ${target.timeoutMs} ms` };
    return { ok: false, error: describe(e) };
  }
}

/** fetch says "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause. */
function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
