import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Huawei Cloud API-gateway AK/SK request signing (`SDK-HMAC-SHA256`), as the public APIG signer describes
 * it, written without its SDK:
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body))
 *   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA256(CanonicalRequest))
 *   Signature        = hex(HMAC-SHA256(SK, StringToSign))
 *   Authorization    = "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>"
 *
 * - CanonicalURI: the path, percent-decoded, each segment percent-encoded again (only A–Z a–z 0–9 - _ . ~
 *   stay as they are), always ending in "/".
 * - CanonicalQueryString: parameters sorted by encoded name, values of one name sorted, `name=value` joined by "&".
 * - CanonicalHeaders: each signed header as `lowercase-name:trimmed value\n`; SignedHeaders: the lowercase
 *   names sorted, joined by ";".
 * - X-Sdk-Date is UTC `yyyyMMdd'T'HHmmss'Z'`. An `X-Sdk-Content-Sha256` header replaces the body hash.
 */
export const AKSK_ALGORITHM = 'SDK-HMAC-SHA256';

export interface AkSk {
  ak: string;
  sk: string;
}

/** What the signature covers. `headers` are exactly the headers signed (host included). */
export interface SignableRequest {
  method: string;
  /** Path and query as sent: `/api/x?b=2&a=1` (percent-encoded). */
  pathAndQuery: string;
  headers: Readonly<Record<string, string>>;
  body: string | Buffer;
}

/** `yyyyMMdd'T'HHmmss'Z'` in UTC. */
export function sdkDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Parses an X-Sdk-Date; NaN when it is not one. */
export function parseSdkDate(v: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  // Rejects 20261301T… and other dates Date.UTC would roll over.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi) return Number.NaN;
  return t;
}

/** Percent-encoding that leaves only A–Z a–z 0–9 - _ . ~ as they are (UTF-8, upper-case hex). */
export function akskEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Percent-decoding that leaves a malformed escape as it is instead of throwing. */
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9A-Fa-f]{2})/g, (m, h: string) => {
      const n = parseInt(h, 16);
      return n < 0x80 ? String.fromCharCode(n) : m;
    });
  }
}

export function canonicalUri(path: string): string {
  const encoded = decode(path).split('/').map(akskEncode).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/** `+` is not a space here: the signer decodes with plain percent-decoding. Empty names are skipped. */
export function canonicalQueryString(query: string): string {
  const params = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (name === '') continue;
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  const out: string[] = [];
  for (const name of [...params.keys()].sort()) {
    for (const value of params.get(name)!.sort()) out.push(`${akskEncode(name)}=${akskEncode(value)}`);
  }
  return out.join('&');
}

function lowerHeaders(headers: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) out.set(k.toLowerCase(), v.trim());
  return out;
}

export function canonicalRequest(req: SignableRequest, signedHeaders: readonly string[]): string {
  const q = req.pathAndQuery.indexOf('?');
  const path = q < 0 ? req.pathAndQuery : req.pathAndQuery.slice(0, q);
  const query = q < 0 ? '' : req.pathAndQuery.slice(q + 1);
  const headers = lowerHeaders(req.headers);
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}\n`).join('');
  const bodyHash = headers.get('x-sdk-content-sha256') ?? createHash('sha256').update(req.body).digest('hex');
  return [req.method.toUpperCase(), canonicalUri(path), canonicalQueryString(query), canonicalHeaders, signedHeaders.join(';'), bodyHash].join('\n');
}

export function stringToSign(canonical: string, date: string): string {
  return `${AKSK_ALGORITHM}\n${date}\n${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

function signatureOf(sk: string, req: SignableRequest, signedHeaders: readonly string[], date: string): string {
  return createHmac('sha256', sk).update(stringToSign(canonicalRequest(req, signedHeaders), date), 'utf8').digest('hex');
}

/**
 * Signs a request: returns the X-Sdk-Date and Authorization headers to send with it. `req.headers` must
 * hold every header that is signed, host included, with the values actually sent; X-Sdk-Date is added here.
 */
export function signRequest(keys: AkSk, req: SignableRequest, nowMs: number): { 'X-Sdk-Date': string; Authorization: string } {
  const date = sdkDate(nowMs);
  const headers = { ...req.headers, 'X-Sdk-Date': date };
  const signed = [...lowerHeaders(headers).keys()].sort();
  const signature = signatureOf(keys.sk, { ...req, headers }, signed, date);
  return { 'X-Sdk-Date': date, Authorization: `${AKSK_ALGORITHM} Access=${keys.ak}, SignedHeaders=${signed.join(';')}, Signature=${signature}` };
}

export type AkSkVerdict =
  | { ok: true; ak: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown-key' | 'stale' | 'mismatch' };

/**
 * The gateway's side (the stand-in marketplace uses it): checks an Authorization header against the
 * received request. `secretOf` gives the SK of an AK, or undefined for an unknown one.
 */
export function verifyRequest(
  req: Omit<SignableRequest, 'headers'> & { headers: Readonly<Record<string, string | string[] | undefined>> },
  secretOf: (ak: string) => string | undefined,
  nowMs: number,
  windowMs: number,
): AkSkVerdict {
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const auth = flat.authorization;
  if (!auth) return { ok: false, reason: 'missing' };
  const m = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([a-z0-9;_-]+),\s*Signature=([0-9a-f]{64})$/i.exec(auth.trim());
  if (!m) return { ok: false, reason: 'malformed' };
  const [, ak, signedList, signature] = m as unknown as [string, string, string, string];
  const signed = signedList.toLowerCase().split(';');
  const date = flat['x-sdk-date'];
  if (!date || !signed.includes('x-sdk-date') || !signed.includes('host')) return { ok: false, reason: 'malformed' };
  const at = parseSdkDate(date);
  if (Number.isNaN(at)) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs - at) > windowMs) return { ok: false, reason: 'stale' };
  const sk = secretOf(ak);
  if (sk === undefined) return { ok: false, reason: 'unknown-key' };
  const headers: Record<string, string> = {};
  for (const h of signed) headers[h] = flat[h] ?? '';
  const expected = Buffer.from(signatureOf(sk, { ...req, headers }, signed, date), 'hex');
  const got = Buffer.from(signature.toLowerCase(), 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected) ? { ok: true, ak } : { ok: false, reason: 'mismatch' };
}
