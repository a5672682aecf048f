/**
 * The sending side of the basic interfaces, as KooGallery does it: used by the stand-in marketplace, the
 * tests and `koogate kit send`.
 */
import { randomBytes } from 'node:crypto';
import { signBasicV2 } from '../crypto/basic-lifecycle';
import { canonicalPayload } from '../crypto/kit-signature';
import { kitResponse, type KitRequest, type KitResponse } from '../kit/client';
import { ACTIVITIES, type Activity } from './activities';

export { ACTIVITIES, type Activity };

export interface BasicRequestOptions {
  /** The production address, e.g. https://app.example.com/_koogate/produce. */
  url: string;
  accessKey: string;
  activity: Activity;
  /** The body's other fields; `activity` is set from the option. */
  body: Record<string, unknown>;
  now?: () => number;
  nonce?: string;
  timeoutMs?: number;
}

export function buildBasicRequest(opts: BasicRequestOptions): KitRequest {
  const text = JSON.stringify({ ...opts.body, activity: opts.activity });
  const timestamp = String((opts.now ?? Date.now)());
  const nonce = opts.nonce ?? randomBytes(16).toString('hex');
  // Sign what the receiver will parse, not the JS object.
  const signature = signBasicV2(opts.accessKey, nonce, timestamp, canonicalPayload(JSON.parse(text) as unknown));
  const url = new URL(opts.url);
  url.searchParams.set('signature', signature);
  url.searchParams.set('timestamp', timestamp);
  url.searchParams.set('nonce', nonce);
  return { url: url.toString(), headers: { 'content-type': 'application/json' }, body: text };
}

export async function sendBasicCall(opts: BasicRequestOptions): Promise<KitResponse> {
  const request = buildBasicRequest(opts);
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
  return kitResponse(response, await response.text());
}
