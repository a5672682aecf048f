import { createHash } from 'node:crypto';
import { isPlainObject, v1BodySign, verifyKitV2Signature, verifyV1AuthToken } from '../crypto/kit-signature';
import { parseBoundedJson } from '../core/bounded-json';
import type { KeyValueStore } from '../store/store';
import { KIT_RESULT, KitFailure } from './result';
import { parseKitTimeStamp } from './time-stamp';

export interface KitV2Headers {
  sign?: string;
  timestamp?: string;
  nonce?: string;
}

export interface KitVerifierOptions {
  accessKey: string;
  windowMs: number;
  store: KeyValueStore;
  now?: () => number;
}

/**
 * Checks a V2 kit call (docs/protocol.md §3.1) before anything reads its fields: headers present, timestamp
 * within the window, signature over the canonical payload (raw body as fallback), nonce never seen.
 * The nonce is remembered only once the signature holds, so unsigned noise cannot fill the store.
 */
export class KitV2Verifier {
  private readonly now: () => number;

  constructor(private readonly opts: KitVerifierOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Returns the parsed body; throws KitFailure with the protocol's code. */
  async verify(h: KitV2Headers, rawBody: string): Promise<{ body: Record<string, unknown>; form: 'canonical' | 'raw' }> {
    if (!h.sign || !h.timestamp || !h.nonce) {
      throw new KitFailure(KIT_RESULT.badSignature, 'missing x-sign, x-timestamp or x-nonce header');
    }
    if (!/^\d{1,16}$/.test(h.timestamp)) throw new KitFailure(KIT_RESULT.badParameter, 'x-timestamp must be Unix milliseconds');
    if (h.nonce.length > 128) throw new KitFailure(KIT_RESULT.badParameter, 'x-nonce is too long');
    if (Math.abs(this.now() - Number(h.timestamp)) > this.opts.windowMs) {
      throw new KitFailure(KIT_RESULT.badParameter, 'x-timestamp is outside the accepted window');
    }
    const parsed = parseKitJson(rawBody);
    const form = verifyKitV2Signature({
      accessKey: this.opts.accessKey,
      nonce: h.nonce,
      timestamp: h.timestamp,
      xSign: h.sign,
      rawBody,
      parsedBody: parsed,
    });
    if (!form) throw new KitFailure(KIT_RESULT.badSignature, 'x-sign does not match');
    const fresh = await this.opts.store.setIfAbsent(`kit:nonce:${h.nonce}`, h.timestamp, this.opts.windowMs * 2);
    if (!fresh) throw new KitFailure(KIT_RESULT.badParameter, 'x-nonce was already used (replay)');
    return { body: parsed as Record<string, unknown>, form };
  }
}

export interface KitV1Request {
  authToken?: string;
  contentType?: string;
  rawBody: string;
}

/**
 * Checks a V1 kit call (docs/protocol.md §3.8). V1 has no timestamp or nonce header: the body's `timeStamp`
 * (UTC+8 yyyyMMddHHmmssSSS) is held to the same window as V2's x-timestamp, and since the authToken is an
 * HMAC keyed with that timeStamp, authToken + timeStamp is what a replay repeats; it is remembered, once
 * the token holds, for twice the window.
 */
export class KitV1Verifier {
  private readonly now: () => number;

  constructor(private readonly opts: KitVerifierOptions) {
    this.now = opts.now ?? Date.now;
  }

  async verify(r: KitV1Request): Promise<{ body: Record<string, unknown> }> {
    if (!r.authToken) throw new KitFailure(KIT_RESULT.badSignature, 'missing authToken header');
    if (r.authToken.length > 128) throw new KitFailure(KIT_RESULT.badSignature, 'authToken does not match');
    const body = parseV1Body(r.rawBody, r.contentType);
    const params = v1Params(body);
    const timeStamp = params['timeStamp'];
    if (timeStamp === undefined) throw new KitFailure(KIT_RESULT.badParameter, 'timeStamp is required');
    const at = parseKitTimeStamp(timeStamp);
    if (at === null) throw new KitFailure(KIT_RESULT.badParameter, 'timeStamp must be yyyyMMddHHmmssSSS (UTC+8)');
    if (Math.abs(this.now() - at) > this.opts.windowMs) throw new KitFailure(KIT_RESULT.badParameter, 'timeStamp is outside the accepted window');
    if (!verifyV1AuthToken(this.opts.accessKey, timeStamp, params, r.authToken)) {
      throw new KitFailure(KIT_RESULT.badSignature, 'authToken does not match');
    }
    const seen = createHash('sha256').update(`${r.authToken}\n${timeStamp}`).digest('hex');
    const fresh = await this.opts.store.setIfAbsent(`kit:v1:${seen}`, timeStamp, this.opts.windowMs * 2);
    if (!fresh) throw new KitFailure(KIT_RESULT.badParameter, 'this authToken and timeStamp were already used (replay)');
    return { body };
  }

  /** The Body-Sign header of a V1 answer; `body` must be the exact bytes sent. */
  bodySign(body: Buffer): string {
    return v1BodySign(this.opts.accessKey, body);
  }
}

/** A V1 body: JSON, or form parameters (URL-decoded) from older senders. */
function parseV1Body(raw: string, contentType = ''): Record<string, unknown> {
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    const seen = new Set<string>();
    const entries: [string, string][] = [];
    for (const [k, v] of new URLSearchParams(raw)) {
      if (seen.has(k)) throw new KitFailure(KIT_RESULT.badParameter, 'a parameter appears more than once');
      seen.add(k);
      entries.push([k, v]);
    }
    // fromEntries defines own properties: a parameter named __proto__ stays a parameter.
    return Object.fromEntries(entries);
  }
  return parseKitJson(raw);
}

/** Deeper than any kit body (userList → user → field is three): far below what recursion could choke on. */
export const MAX_JSON_DEPTH = 32;

/**
 * A kit body as a JSON object, before any signature work: over-deep or otherwise unparseable JSON is a
 * 000002 refusal (a retry of the same bytes cannot succeed), never an internal error.
 */
export function parseKitJson(raw: string): Record<string, unknown> {
  const parsed = parseBoundedJson(raw, MAX_JSON_DEPTH);
  if (!parsed.ok) throw new KitFailure(KIT_RESULT.badParameter, parsed.problem);
  if (!isPlainObject(parsed.value)) throw new KitFailure(KIT_RESULT.badParameter, 'body must be a JSON object');
  return parsed.value;
}

/** The signed parameters: every non-null top-level field as a string (structured ones as their JSON text). */
function v1Params(body: Record<string, unknown>): Record<string, string> {
  // No prototype: a parameter named __proto__ is a parameter like any other, and signed like one.
  const params = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(body)) {
    if (v === null || v === undefined) continue;
    params[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return params;
}
