import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The usage-record push is not AK/SK-signed: it carries headers `ts` (Unix ms), `nonce` and `signature` =
 * Base64( HMAC-SHA256( key = basic access key, data = "ts={ts}&nonce={nonce}&body={body}" ) ), the body with
 * its keys "sorted naturally". koogate sorts the keys of every object at every depth and sends exactly the
 * bytes it signed, so a receiver that sorts only the top level, or every level, sees the same string.
 */
export function sortedJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function usageSignature(basicKey: string, ts: string, nonce: string, body: string): string {
  return createHmac('sha256', basicKey).update(`ts=${ts}&nonce=${nonce}&body=${body}`, 'utf8').digest('base64');
}

export function usageSignatureValid(basicKey: string, ts: string, nonce: string, body: string, signature: string): boolean {
  const expected = Buffer.from(usageSignature(basicKey, ts, nonce, body), 'base64');
  const got = Buffer.from(signature, 'base64');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
