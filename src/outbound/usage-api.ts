import { randomBytes } from 'node:crypto';
import { apiUrl, callMarketplace, type MarketplaceHosts } from './marketplace-hosts';
import type { UsageRecord } from './usage-record';
import { sortedJson, usageSignature } from './usage-signature';

export const USAGE_PATH = '/api/mkp-openapi-public/global/v1/isv/usage-data';

/**
 * KooGallery's answers of the usage push, `{error_code, error_msg}`. `MKT.0000` is success (documented);
 * the others are those Huawei's error table lists for its open APIs, and the duplicate code is the one the
 * stand-in marketplace uses (the public page names none).
 */
export const USAGE_CODES = {
  success: 'MKT.0000',
  invalidParameter: 'MKT.0100',
  duplicate: 'MKT.0101',
  illegalOperation: 'MKT.0150',
  noAuthority: 'MKT.0151',
  systemError: 'MKT.0999',
} as const;

/** Answers that say nothing about the records: koogate's key or the marketplace itself is at fault, so the same batch is sent again. */
const RETRY_CODES: ReadonlySet<string> = new Set([USAGE_CODES.noAuthority, USAGE_CODES.systemError]);

export type UsagePushResult =
  | { kind: 'accepted' }
  /** The marketplace refused the batch for something in it: one of its records, or all. */
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'retry'; error: string; stopped?: boolean };

export interface UsagePushTarget {
  hosts: MarketplaceHosts;
  /** The basic access key signs the push. */
  basicKey: string;
}

/** The exact body of one push: keys sorted at every depth, as it is signed. */
export function usagePushBody(records: readonly UsageRecord[]): string {
  return sortedJson({ usage_records: records });
}

export async function pushUsage(target: UsagePushTarget, records: readonly UsageRecord[], nowMs: () => number, stop: AbortSignal): Promise<UsagePushResult> {
  const body = usagePushBody(records);
  const outcome = await callMarketplace(
    target.hosts,
    (base) => {
      // A fresh nonce and time per attempt and per host: the marketplace refuses a repeated nonce.
      const ts = String(nowMs());
      const nonce = randomBytes(16).toString('hex');
      return {
        url: apiUrl(base, USAGE_PATH),
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json;charset=UTF-8', 'user-agent': 'koogate-usage', ts, nonce, signature: usageSignature(target.basicKey, ts, nonce, body) },
          body,
        },
      };
    },
    stop,
  );
  if (!outcome.ok) return { kind: 'retry', error: outcome.error, stopped: outcome.stopped };
  const { status, json } = outcome.answer;
  const answer = json as { error_code?: unknown; error_msg?: unknown } | null;
  const code = typeof answer?.error_code === 'string' ? answer.error_code : undefined;
  const message = typeof answer?.error_msg === 'string' ? answer.error_msg.slice(0, 500) : '';
  if (code === USAGE_CODES.success && status >= 200 && status < 300) return { kind: 'accepted' };
  if (status >= 500 || status === 429 || code === undefined || RETRY_CODES.has(code)) {
    return { kind: 'retry', error: `HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}` };
  }
  return { kind: 'refused', code, message };
}
