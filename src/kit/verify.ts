import { verifyKitV2Signature } from '../crypto/kit-signature';
import type { KeyValueStore } from '../store/store';
import { KIT_RESULT, KitFailure } from './result';

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
 * Checks a V2 kit call (PROTOCOL.md §3.1) before anything reads its fields: headers present, timestamp
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      throw new KitFailure(KIT_RESULT.badParameter, 'body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new KitFailure(KIT_RESULT.badParameter, 'body must be a JSON object');
    }
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
