/**
 * The sending side of kit sync, as KooGallery does it: used by the stand-in marketplace in tests and the demo,
 * and by `koogate kit send`.
 */
import { randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { canonicalPayload, signKitV2, v1AuthToken, v1BodySign } from '../crypto/kit-signature';
import { encryptOaep, type OaepVariant } from '../crypto/rsa-oaep';
import { kitTimeStamp } from './time-stamp';

export { kitTimeStamp } from './time-stamp';

export type KitInterface = 'tenantSync' | 'applicationSync' | 'authSync' | 'singleOrgSync' | 'allOrgSync';

export const KIT_INTERFACES: readonly KitInterface[] = ['tenantSync', 'applicationSync', 'authSync', 'singleOrgSync', 'allOrgSync'];

export interface KitRequestOptions {
  baseUrl: string;
  iface: KitInterface;
  accessKey: string;
  body: Record<string, unknown>;
  generation?: 'v2' | 'v1';
  /** Merchant public key; when set, applicationSync's plain `clientSecret` is sent RSA-OAEP encrypted. */
  publicKey?: KeyObject;
  oaepVariant?: OaepVariant;
  now?: () => number;
  nonce?: string;
  /** Of the whole exchange, for sendKitCall; default 10 s. */
  timeoutMs?: number;
}

export interface KitRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface KitResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, or undefined when the response is not JSON. */
  body: unknown;
  text: string;
  /** V1 only: whether the Body-Sign header is the access key's HMAC of the exact response bytes. */
  bodySign?: 'valid' | 'invalid' | 'missing';
}

function withEncryptedSecret(opts: KitRequestOptions): Record<string, unknown> {
  const body = { ...opts.body };
  const secret = body['clientSecret'];
  if (opts.publicKey !== undefined && opts.iface === 'applicationSync' && typeof secret === 'string') {
    const variant = opts.oaepVariant ?? 'sha256-mgf1sha1';
    body['clientSecret'] = encryptOaep(opts.publicKey, Buffer.from(secret, 'utf8'), variant).toString('base64');
  }
  return body;
}

function paramString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function trimSlash(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

export function buildKitRequest(opts: KitRequestOptions): KitRequest {
  const now = opts.now ?? Date.now;
  const body = withEncryptedSecret(opts);
  const base = trimSlash(opts.baseUrl);

  if ((opts.generation ?? 'v2') === 'v2') {
    const text = JSON.stringify(body);
    const timestamp = String(now());
    const nonce = opts.nonce ?? randomBytes(32).toString('hex');
    // Sign what the receiver will parse, not the JS object (undefined values, toJSON and the like).
    const payload = canonicalPayload(JSON.parse(text) as unknown);
    return {
      url: `${base}/produceAPI/v2/${opts.iface}`,
      headers: {
        'content-type': 'application/json',
        'x-timestamp': timestamp,
        'x-nonce': nonce,
        'x-sign': signKitV2(opts.accessKey, nonce, timestamp, payload),
      },
      body: text,
    };
  }

  // V1 carries structured fields (userList, orgInfo) as JSON strings, and has no notion of a null parameter.
  const sent: Record<string, unknown> = {};
  // No prototype: a parameter named __proto__ is signed like any other (as the receiver checks it).
  const params = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    const structured = typeof value === 'object';
    sent[name] = structured ? JSON.stringify(value) : value;
    params[name] = paramString(sent[name]);
  }
  // The authToken key includes timeStamp, so a V1 call cannot go without one.
  const timeStamp = (params['timeStamp'] ??= kitTimeStamp(now()));
  sent['timeStamp'] ??= timeStamp;
  return {
    url: `${base}/produceAPI/${opts.iface}`,
    headers: {
      'content-type': 'application/json',
      authToken: v1AuthToken(opts.accessKey, timeStamp, params),
    },
    body: JSON.stringify(sent),
  };
}

export async function sendKitCall(opts: KitRequestOptions): Promise<KitResponse> {
  const request = buildKitRequest(opts);
  const response = await fetch(request.url, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const result = kitResponse(response, bytes.toString('utf8'));
  if ((opts.generation ?? 'v2') === 'v1') result.bodySign = checkBodySign(opts.accessKey, bytes, result.headers['body-sign']);
  return result;
}

/** A kit or basic answer as received: its status, headers, text and, when the text is JSON, its body. */
export function kitResponse(response: Response, text: string): KitResponse {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers, body: parsed, text };
}

/** A V1 answer's Body-Sign against the exact bytes received (docs/protocol.md §3.8). */
export function checkBodySign(accessKey: string, bytes: Buffer, header: string | undefined): 'valid' | 'invalid' | 'missing' {
  if (header === undefined) return 'missing';
  const expected = Buffer.from(v1BodySign(accessKey, bytes), 'utf8');
  const got = Buffer.from(header.trim(), 'utf8');
  return got.length === expected.length && timingSafeEqual(got, expected) ? 'valid' : 'invalid';
}
