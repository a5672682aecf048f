import { createHmac, timingSafeEqual } from 'node:crypto';

/** Java TreeMap<String, …> order: UTF-16 code units, which is what `<` on JS strings compares. */
export function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Protocol 3.1 payload: top-level keys sorted, top-level nulls dropped, compact JSON; nested values untouched.
 *
 * The object is serialised by hand rather than by building a sorted object, because JS objects always put
 * integer-like keys ("1", "10") first in numeric order, which would break the TreeMap order.
 * Limits inherited from JSON.parse on the receiving side (the raw-body fallback covers them): integers
 * beyond 2^53 lose precision, `1.0` becomes `1`, and integer-like keys of *nested* objects are reordered.
 */
export function canonicalPayload(body: unknown): string {
  if (!isPlainObject(body)) throw new TypeError('kit payload must be a JSON object');
  const parts: string[] = [];
  for (const key of Object.keys(body).sort(compareUtf16)) {
    const value = body[key];
    if (value === null || value === undefined) continue;
    const json = JSON.stringify(value) as string | undefined;
    // Functions and symbols are not JSON; JSON.stringify would drop them too.
    if (json === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

function hmacSha256(key: string, data: string | Buffer): Buffer {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest();
}

export function signKitV2(accessKey: string, nonce: string, timestamp: string, payload: string): string {
  return hmacSha256(accessKey, accessKey + nonce + timestamp + payload).toString('hex');
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Constant-time comparison of a received hex HMAC-SHA256 with the expected digest bytes. */
function hexDigestEquals(received: string, expected: Buffer): boolean {
  if (!HEX_SHA256.test(received)) return false;
  const got = Buffer.from(received, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface KitV2VerifyInput {
  accessKey: string;
  nonce: string;
  timestamp: string;
  xSign: string;
  rawBody: string;
  parsedBody: unknown;
}

/**
 * Which body form the sender signed: the canonical form of 3.1 first, the raw body as fallback (open point in
 * section 5). Freshness and nonce replay are the caller's job.
 */
export function verifyKitV2Signature(opts: KitV2VerifyInput): 'canonical' | 'raw' | null {
  const { accessKey, nonce, timestamp, xSign } = opts;
  if (!HEX_SHA256.test(xSign)) return null;
  if (isPlainObject(opts.parsedBody)) {
    const canonical = hmacSha256(accessKey, accessKey + nonce + timestamp + canonicalPayload(opts.parsedBody));
    if (hexDigestEquals(xSign, canonical)) return 'canonical';
  }
  const raw = hmacSha256(accessKey, accessKey + nonce + timestamp + opts.rawBody);
  if (hexDigestEquals(xSign, raw)) return 'raw';
  return null;
}

/** Protocol 3.8: "k1=v1&k2=v2…" over the (already URL-decoded) parameters, sorted by name. */
export function v1SignedString(params: Record<string, string>): string {
  return Object.keys(params)
    .sort(compareUtf16)
    .map((name) => `${name}=${params[name] ?? ''}`)
    .join('&');
}

export function v1AuthToken(accessKey: string, timeStamp: string, params: Record<string, string>): string {
  return hmacSha256(accessKey + timeStamp, v1SignedString(params)).toString('base64');
}

export function verifyV1AuthToken(
  accessKey: string,
  timeStamp: string,
  params: Record<string, string>,
  authToken: string,
): boolean {
  // Base64 is case-sensitive and Buffer's decoder is lenient, so compare the encoded strings byte for byte.
  const expected = Buffer.from(v1AuthToken(accessKey, timeStamp, params), 'utf8');
  const got = Buffer.from(authToken, 'utf8');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Full `Body-Sign` header value for a V1 response; `body` must be the exact bytes sent. */
export function v1BodySign(accessKey: string, body: Buffer | string): string {
  const signature = hmacSha256(accessKey, body).toString('base64');
  return `sign_type="HMAC-SHA256", signature="${signature}"`;
}
