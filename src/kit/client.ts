/**
 * The sending side of kit sync, as KooGallery does it: used by the stand-in marketplace in tests and the demo,
 * and by `koogate kit send`.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { canonicalPayload, signKitV2, v1AuthToken } from '../crypto/kit-signature';
import { encryptOaep, type OaepVariant } from '../crypto/rsa-oaep';

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
}

/** The `timeStamp` body field: UTC+8 `yyyyMMddHHmmssSSS`. */
export function kitTimeStamp(epochMs: number): string {
  const d = new Date(epochMs + 8 * 3600_000);
  const p = (n: number, width = 2): string => String(n).padStart(width, '0');
  return (
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`
  );
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
  const params: Record<string, string> = {};
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

export async function sendKitCall(opts: KitRequestOptions & { timeoutMs?: number }): Promise<KitResponse> {
  const request = buildKitRequest(opts);
  const response = await fetch(request.url, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const text = await response.text();
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
