import { createHash } from 'node:crypto';
import { parseBoundedJson } from '../core/bounded-json';
import { canonicalPayload, isPlainObject } from '../crypto/kit-signature';
import { verifyBasicV2Signature } from '../crypto/basic-lifecycle';
import type { KeyValueStore } from '../store/store';
import { BASIC_RESULT, BasicFailure } from './result';

/** Basic bodies are flat (productInfo is the one nested object): deeper nesting is refused before any signature work. */
export const MAX_BASIC_JSON_DEPTH = 16;

/** The query parameters of a basic call (docs/protocol.md §6.1). */
export interface BasicQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
}

export interface BasicVerifierOptions {
  /** KOOGATE_BASIC_ACCESS_KEY; without one every basic call is refused with 000001. */
  accessKey?: string;
  windowMs: number;
  store: KeyValueStore;
  now?: () => number;
}

/**
 * Checks a basic call before anything reads its fields: query parameters present, timestamp within the
 * window, the double HMAC over the canonical payload (raw body as fallback, as for kit calls), nonce
 * never seen. The nonce is remembered only once the signature holds, so unsigned noise cannot fill the
 * store. A call signed with the kit key fails the signature: one key per interface type.
 */
export class BasicVerifier {
  private readonly now: () => number;

  constructor(private readonly opts: BasicVerifierOptions) {
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return Boolean(this.opts.accessKey);
  }

  async verify(q: BasicQuery, rawBody: string): Promise<Record<string, unknown>> {
    const key = this.opts.accessKey;
    if (!key) {
      throw new BasicFailure(BASIC_RESULT.authFailed, 'basic interfaces are off: this koogate has no basic access key (KOOGATE_BASIC_ACCESS_KEY)');
    }
    if (!q.signature || !q.timestamp || !q.nonce) throw new BasicFailure(BASIC_RESULT.authFailed, 'missing signature, timestamp or nonce query parameter');
    if (!/^\d{1,16}$/.test(q.timestamp)) throw new BasicFailure(BASIC_RESULT.badParameter, 'timestamp must be Unix milliseconds');
    if (q.nonce.length > 128) throw new BasicFailure(BASIC_RESULT.badParameter, 'nonce is too long');
    if (Math.abs(this.now() - Number(q.timestamp)) > this.opts.windowMs) {
      throw new BasicFailure(BASIC_RESULT.badParameter, 'timestamp is outside the accepted window');
    }
    const parsed = parseBoundedJson(rawBody, MAX_BASIC_JSON_DEPTH);
    if (!parsed.ok) throw new BasicFailure(BASIC_RESULT.badParameter, parsed.problem);
    if (!isPlainObject(parsed.value)) throw new BasicFailure(BASIC_RESULT.badParameter, 'body must be a JSON object');
    const signed =
      verifyBasicV2Signature(key, q.nonce, q.timestamp, canonicalPayload(parsed.value), q.signature) ||
      verifyBasicV2Signature(key, q.nonce, q.timestamp, rawBody, q.signature);
    if (!signed) throw new BasicFailure(BASIC_RESULT.authFailed, 'signature does not match');
    // Hashed: a nonce is the sender's text, of any characters; the key stays short and plain.
    const seen = createHash('sha256').update(q.nonce).digest('hex');
    const fresh = await this.opts.store.setIfAbsent(`basic:nonce:${seen}`, q.timestamp, this.opts.windowMs * 2);
    if (!fresh) throw new BasicFailure(BASIC_RESULT.badParameter, 'nonce was already used (replay)');
    return parsed.value;
  }
}
