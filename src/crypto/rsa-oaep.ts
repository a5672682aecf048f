/**
 * RSA-OAEP for the applicationSync clientSecret (protocol 3.4).
 *
 * Node's OAEP ties MGF1 to the OAEP hash, but Java's `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` uses SHA-256 for
 * the label hash and SHA-1 for MGF1. So the encoding (RFC 8017 §7.1) is done here over raw RSA, for every
 * variant alike: one private-key operation serves all variants, and the decoder is the same code for all.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

export type OaepVariant = 'sha256-mgf1sha1' | 'sha1' | 'sha256';

/** Try-order when the sender's variant is not pinned. */
export const OAEP_VARIANTS: readonly OaepVariant[] = ['sha256-mgf1sha1', 'sha1', 'sha256'];

type Digest = 'sha1' | 'sha256';

const VARIANT_DIGESTS: Record<OaepVariant, { hash: Digest; mgf: Digest }> = {
  'sha256-mgf1sha1': { hash: 'sha256', mgf: 'sha1' },
  sha1: { hash: 'sha1', mgf: 'sha1' },
  sha256: { hash: 'sha256', mgf: 'sha256' },
};

const DIGEST_LEN: Record<Digest, number> = { sha1: 20, sha256: 32 };

export class OaepError extends Error {
  constructor(message = 'RSA-OAEP decryption failed') {
    super(message);
    this.name = 'OaepError';
  }
}

function pemLabel(pem: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
}

function requireRsa(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`${what}: not an RSA key (${key.asymmetricKeyType ?? 'unknown type'})`);
  return key;
}

/** PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM, unencrypted. */
export function loadPrivateKey(pem: string): KeyObject {
  const label = pemLabel(pem);
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new Error('RSA private key: passphrase-protected PEM is not supported; provide an unencrypted PKCS#8 or PKCS#1 PEM');
  }
  if (label !== 'PRIVATE KEY' && label !== 'RSA PRIVATE KEY') {
    throw new Error('RSA private key: expected a PEM block "BEGIN PRIVATE KEY" (PKCS#8) or "BEGIN RSA PRIVATE KEY" (PKCS#1)');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The underlying message can quote parser state; the key itself must never reach a log.
    throw new Error('RSA private key: the PEM could not be parsed');
  }
  return requireRsa(key, 'RSA private key');
}

export function publicKeyFrom(privateKey: KeyObject): KeyObject {
  return requireRsa(createPublicKey(privateKey), 'public key');
}

/** SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM. */
export function loadPublicKey(pem: string): KeyObject {
  const label = pemLabel(pem);
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') {
    throw new Error('RSA public key: expected a PEM block "BEGIN PUBLIC KEY" (SPKI) or "BEGIN RSA PUBLIC KEY" (PKCS#1)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('RSA public key: the PEM could not be parsed');
  }
  return requireRsa(key, 'RSA public key');
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) throw new Error('not an RSA key');
  return Math.ceil(bits / 8);
}

function mgf1(digest: Digest, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let done = 0, i = 0; done < length; i++) {
    counter.writeUInt32BE(i, 0);
    const block = createHash(digest).update(seed).update(counter).digest();
    blocks.push(block);
    done += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function xorInto(target: Buffer, mask: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! ^ mask[i]!;
}

/** 1 when the byte is 0, else 0, without a branch. */
function isZero(byte: number): number {
  return ((byte - 1) >>> 31) & 1;
}

const EMPTY_LABEL_HASH: Record<Digest, Buffer> = {
  sha1: createHash('sha1').digest(),
  sha256: createHash('sha256').digest(),
};

/**
 * RFC 8017 §7.1.2 steps 3a–3g on the encoded message. All checks are folded into one flag and evaluated with
 * the same work whatever fails, so the caller cannot learn which check failed (Manger's attack).
 */
function oaepDecode(em: Buffer, variant: OaepVariant): Buffer | undefined {
  const { hash, mgf } = VARIANT_DIGESTS[variant];
  const hLen = DIGEST_LEN[hash];
  const k = em.length;
  if (k < 2 * hLen + 2) return undefined;

  const seed = Buffer.from(em.subarray(1, 1 + hLen));
  const db = Buffer.from(em.subarray(1 + hLen));
  xorInto(seed, mgf1(mgf, db, hLen));
  xorInto(db, mgf1(mgf, seed, db.length));

  let bad = em[0]!;
  const lHash = EMPTY_LABEL_HASH[hash];
  for (let i = 0; i < hLen; i++) bad |= db[i]! ^ lHash[i]!;

  let lookingForOne = 1;
  let separator = 0;
  for (let i = hLen; i < db.length; i++) {
    const byte = db[i]!;
    const one = isZero(byte ^ 0x01);
    const zero = isZero(byte);
    separator |= i & -(lookingForOne & one);
    bad |= lookingForOne & ((one | zero) ^ 1); // a byte other than 0x00/0x01 before the separator
    lookingForOne &= one ^ 1;
  }
  bad |= lookingForOne;

  return bad === 0 ? db.subarray(separator + 1) : undefined;
}

function oaepEncode(message: Buffer, k: number, variant: OaepVariant): Buffer {
  const { hash, mgf } = VARIANT_DIGESTS[variant];
  const hLen = DIGEST_LEN[hash];
  if (message.length > k - 2 * hLen - 2) {
    throw new RangeError(`RSA-OAEP (${variant}): message too long for a ${k * 8}-bit key`);
  }
  const db = Buffer.alloc(k - hLen - 1);
  EMPTY_LABEL_HASH[hash].copy(db, 0);
  db[db.length - message.length - 1] = 0x01;
  message.copy(db, db.length - message.length);
  const seed = randomBytes(hLen);
  xorInto(db, mgf1(mgf, seed, db.length));
  xorInto(seed, mgf1(mgf, db, hLen));
  return Buffer.concat([Buffer.from([0x00]), seed, db]);
}

export function decryptOaep(
  privateKey: KeyObject,
  ciphertext: Buffer,
  variants: readonly OaepVariant[] = OAEP_VARIANTS,
): { plaintext: Buffer; variant: OaepVariant } {
  const k = modulusBytes(privateKey);
  if (ciphertext.length !== k) throw new OaepError();
  let em: Buffer;
  try {
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch {
    throw new OaepError();
  }
  if (em.length !== k) throw new OaepError();
  for (const variant of variants) {
    const plaintext = oaepDecode(em, variant);
    if (plaintext !== undefined) return { plaintext: Buffer.from(plaintext), variant };
  }
  throw new OaepError();
}

export function encryptOaep(publicKey: KeyObject, plaintext: Buffer, variant: OaepVariant): Buffer {
  const k = modulusBytes(publicKey);
  return publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, oaepEncode(plaintext, k, variant));
}
