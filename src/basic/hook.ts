import { randomUUID } from 'node:crypto';
import type { BasicHookConfig } from '../config/config';
import type { Logger } from '../observability/logger';
import { webhookSignature } from '../webhook/signature';
import { BASIC_RESULT } from './result';


/** The app's word on a newInstance or changeInstanceCheck. */
export type HookVerdict =
  | { kind: 'accept' }
  /** 000004: not ready yet; newInstance still records the instance, so its retries get the same id. */
  | { kind: 'processing'; resultMsg: string }
  /** Any other six-digit code: the call is refused with it and nothing is written. */
  | { kind: 'refuse'; resultCode: string; resultMsg: string }
  /** The app could not be asked (down, too slow, an answer that is not the hook's): 000005, nothing written. */
  | { kind: 'unreachable'; reason: string };

const MSG = /^[^\x00-\x1f\x7f]{0,256}$/;

/**
 * The optional synchronous hook (KOOGATE_BASIC_HOOK_URL): before koogate answers a newInstance or a
 * changeInstanceCheck, it asks the app, which may say no or "not ready yet". A short timeout keeps the
 * marketplace's answer fast; without a hook these activities are accepted.
 */
export class BasicHook {
  constructor(
    private readonly s: BasicHookConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async ask(activity: string, data: Record<string, unknown>): Promise<HookVerdict> {
    const body = JSON.stringify({ id: randomUUID(), activity, data });
    let res: Response;
    try {
      res = await fetch(this.s.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-koogate-event': activity,
          'x-koogate-signature': webhookSignature(this.s.secrets, body, Math.floor(this.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(this.s.timeoutMs),
      });
    } catch (e) {
      return this.unreachable(activity, e instanceof Error && e.name === 'TimeoutError' ? `no answer within ${this.s.timeoutMs} ms` : 'connection failed');
    }
    let answer: unknown;
    try {
      answer = res.ok ? ((await res.json()) as unknown) : undefined;
    } catch {
      answer = undefined;
    }
    if (!res.ok) return this.unreachable(activity, `HTTP ${res.status}`);
    const a = (answer ?? {}) as { resultCode?: unknown; resultMsg?: unknown };
    if (typeof a.resultCode !== 'string' || !/^\d{6}$/.test(a.resultCode)) return this.unreachable(activity, 'answer without a six-digit resultCode');
    const resultMsg = typeof a.resultMsg === 'string' && MSG.test(a.resultMsg) ? a.resultMsg : '';
    if (a.resultCode === BASIC_RESULT.success) return { kind: 'accept' };
    if (a.resultCode === BASIC_RESULT.processing) return { kind: 'processing', resultMsg: resultMsg || 'the app is still provisioning the instance' };
    return { kind: 'refuse', resultCode: a.resultCode, resultMsg: resultMsg || 'refused by the app' };
  }

  private unreachable(activity: string, reason: string): HookVerdict {
    this.log.warn('basic hook not answered', { activity, reason });
    return { kind: 'unreachable', reason };
  }
}
