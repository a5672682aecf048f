/**
 * Encryption at rest (client secrets, tokens): AES-256-GCM under keys derived from configured secrets.
 * Format: `v1.<keyId>.<iv b64url>.<ciphertext+tag b64url>`. The first secret seals, all of them open, so a
 * secret can be rotated by prepending the new one and dropping the old one once everything is resealed.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const HKDF_SALT = 'koogate/sealed/v1/salt';
const HKDF_INFO = 'koogate/sealed/v1/aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MIN_SECRET_CHARS = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** A value sealed under a key none of the configured secrets gives: an operator's error, not data's. */
export class UnknownKeyError extends SealError {
  constructor(readonly keyId: string) {
    super(`sealed value uses key id "${keyId}", which is not among the configured secrets`);
    this.name = 'UnknownKeyError';
  }
}

export interface SealerOptions {
  /** Told of every value whose key is not configured (the operator's alarm: log, readiness). */
  onUnknownKey?: (keyId: string) => void;
}

/** What re-sealing one stored value did: sealed again, already under the current key, gone meanwhile, or not openable. */
export type ResealOutcome = 'resealed' | 'current' | 'gone' | 'failed';

interface SealKey {
  id: string;
  key: Buffer;
}

function deriveKey(secret: string): SealKey {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, HKDF_INFO, 32));
  // A hash of the derived key (not of the secret) names it; 64 bits make an accidental clash negligible.
  const id = createHash('sha256').update('koogate/sealed/v1/key-id').update(key).digest().subarray(0, 8).toString('base64url');
  return { id, key };
}

function additionalData(keyId: string, aad: string | undefined): Buffer {
  // The header is authenticated too; the caller's context (e.g. "tenant:t-1/app:a-9") follows it unambiguously.
  return Buffer.from(`${VERSION}.${keyId}.${aad ?? ''}`, 'utf8');
}

function decodeB64url(part: string): Buffer | undefined {
  return B64URL.test(part) ? Buffer.from(part, 'base64url') : undefined;
}

export class Sealer {
  private readonly primary: SealKey;
  private readonly byId: ReadonlyMap<string, Buffer>;

  private constructor(
    keys: readonly SealKey[],
    private readonly opts: SealerOptions = {},
  ) {
    const [primary] = keys;
    if (primary === undefined) throw new SealError('at least one sealing secret is required');
    this.primary = primary;
    const byId = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      const known = byId.get(id);
      if (known !== undefined && !known.equals(key)) throw new SealError('two sealing secrets produced the same key id');
      byId.set(id, key);
    }
    this.byId = byId;
  }

  static fromSecrets(secrets: readonly string[], opts: SealerOptions = {}): Sealer {
    if (secrets.length === 0) throw new SealError('at least one sealing secret is required');
    if (secrets.some((s) => s.length < MIN_SECRET_CHARS)) {
      throw new SealError(`each sealing secret must be at least ${MIN_SECRET_CHARS} characters`);
    }
    return new Sealer(secrets.map(deriveKey), opts);
  }

  /** Ids of every configured key, the sealing one first (for operators' messages). */
  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  /** Id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.primary.id;
  }

  seal(plaintext: string, aad?: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.primary.key, iv);
    cipher.setAAD(additionalData(this.primary.id, aad));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${this.primary.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string, aad?: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SealError('not a sealed value (expected v1.<keyId>.<iv>.<data>)');
    const [, keyId = '', ivPart = '', bodyPart = ''] = parts;
    const key = this.byId.get(keyId);
    if (key === undefined) {
      this.opts.onUnknownKey?.(keyId);
      throw new UnknownKeyError(keyId);
    }
    const iv = decodeB64url(ivPart);
    const body = decodeB64url(bodyPart);
    if (iv?.length !== IV_BYTES || body === undefined || body.length < TAG_BYTES) {
      throw new SealError('sealed value is malformed');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId, aad));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealError('sealed value failed authentication (tampered, or sealed for another context)');
    }
  }

  /** True when the value was not sealed with the current key (rotation: open it and seal it again). */
  needsReseal(sealed: string): boolean {
    return sealed.split('.')[1] !== this.primary.id;
  }
}
