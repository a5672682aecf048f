import { randomBytes } from 'node:crypto';
import { buildBasicRequest, type Activity } from '../../src/basic/client';
import { signBasicV2 } from '../../src/crypto/basic-lifecycle';
import { canonicalPayload } from '../../src/crypto/kit-signature';
import type { KitRequest } from '../../src/kit/client';

/** Basic-interface calls over real HTTP, signed as KooGallery signs them (docs/protocol.md §6.1). */

export interface BasicAnswerSeen {
  status: number;
  contentType: string;
  text: string;
  /** The answer parsed (resultCode, resultMsg, instanceId, info…). */
  json: Record<string, unknown> & { resultCode?: string; resultMsg?: string };
}

export interface BasicTarget {
  /** The production address. */
  url: string;
  accessKey: string;
}

export async function postBasic(req: KitRequest): Promise<BasicAnswerSeen> {
  const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: BasicAnswerSeen['json'] = {};
  try {
    json = JSON.parse(text) as BasicAnswerSeen['json'];
  } catch {
    /* asserted through resultCode */
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

export function basicCalls(target: () => BasicTarget) {
  const build = (activity: Activity, body: Record<string, unknown>, o: { accessKey?: string; nonce?: string; now?: () => number } = {}) =>
    buildBasicRequest({ url: target().url, accessKey: o.accessKey ?? target().accessKey, activity, body, nonce: o.nonce, now: o.now });
  const send = (activity: Activity, body: Record<string, unknown>, o: Parameters<typeof build>[2] = {}) => postBasic(build(activity, body, o));
  /** A request whose signature covers exactly `text`, with the query given (signature etc. default to correct ones). */
  const raw = (text: string, q: { signature?: string | null; timestamp?: string | null; nonce?: string | null; accessKey?: string; extra?: string } = {}): KitRequest => {
    const nonce = q.nonce === undefined ? randomBytes(16).toString('hex') : q.nonce;
    const timestamp = q.timestamp === undefined ? String(Date.now()) : q.timestamp;
    let payload = text;
    try {
      payload = canonicalPayload(JSON.parse(text) as unknown);
    } catch {
      /* not an object: signed as sent */
    }
    const signature = q.signature === undefined ? signBasicV2(q.accessKey ?? target().accessKey, nonce ?? '', timestamp ?? '', payload) : q.signature;
    const params = new URLSearchParams();
    if (signature !== null) params.set('signature', signature);
    if (timestamp !== null) params.set('timestamp', timestamp);
    if (nonce !== null) params.set('nonce', nonce);
    const qs = [params.toString(), q.extra].filter(Boolean).join('&');
    return { url: `${target().url}?${qs}`, headers: { 'content-type': 'application/json' }, body: text };
  };
  return { build, send, raw };
}

/** Basic bodies, valid unless overridden; all values strings, as KooGallery sends them. */
export const basicBodies = {
  newInstance: (orderId: string, over: Record<string, unknown> = {}) => ({
    orderId,
    orderLineId: `${orderId}-line-1`,
    businessId: `biz-${randomBytes(8).toString('hex')}`,
    testFlag: '1',
    ...over,
  }),
  status: (instanceId: string, status: 'FREEZE' | 'UNFREEZE') => ({ instanceId, status, testFlag: '1' }),
  refresh: (instanceId: string, scene: string, expireTime: string, over: Record<string, unknown> = {}) => ({
    instanceId,
    scene,
    orderId: `renew-${randomBytes(4).toString('hex')}`,
    orderLineId: 'line-1',
    expireTime,
    testFlag: '1',
    ...over,
  }),
};
