/**
 * Instance-lifecycle ("basic") interfaces of KooGallery. Not served by koogate yet; these reproduce the
 * reference vectors so the future implementation starts from verified primitives.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

function hmacSha256Hex(key: string, data: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(Buffer.from(data, 'utf8')).digest('hex');
}

/**
 * signature = hex(HMAC-SHA256(accessKey, accessKey + nonce + timestamp + hex(HMAC-SHA256(accessKey, payload))))
 * with lowercase hex for the inner digest; `payload` is the canonical form (kit-signature `canonicalPayload`).
 * Unlike kit V2, the body enters only through its own HMAC.
 */
export function signBasicV2(accessKey: string, nonce: string, timestamp: string, payload: string): string {
  return hmacSha256Hex(accessKey, accessKey + nonce + timestamp + hmacSha256Hex(accessKey, payload));
}

export function verifyBasicV2Signature(
  accessKey: string,
  nonce: string,
  timestamp: string,
  payload: string,
  signature: string,
): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signBasicV2(accessKey, nonce, timestamp, payload), 'hex');
  return timingSafeEqual(Buffer.from(signature, 'hex'), expected);
}

export type BasicAesBits = 128 | 256;

const SHA1_LEN = 20;

/**
 * The bytes Java's `KeyGenerator("AES").init(bits, SecureRandom.getInstance("SHA1PRNG") seeded with seed)`
 * produces, i.e. the output of sun.security.provider.SecureRandom:
 * state = SHA1(seed); each block = SHA1(state), then state += block + 1 (little-endian over the 20 bytes,
 * with Java's "force a change" rule). The first 20 bytes are therefore SHA1(SHA1(seed)).
 */
export function sha1prngKey(seed: string, bits: number): Buffer {
  if (bits !== 128 && bits !== 192 && bits !== 256) throw new RangeError('AES key size must be 128, 192 or 256 bits');
  const length = bits / 8;
  const state = createHash('sha1').update(Buffer.from(seed, 'utf8')).digest();
  const out = Buffer.alloc(length);
  for (let filled = 0; filled < length; ) {
    const block = createHash('sha1').update(state).digest();
    updateState(state, block);
    const take = Math.min(length - filled, SHA1_LEN);
    block.copy(out, filled, 0, take);
    filled += take;
  }
  return out;
}

/** Port of SecureRandom.updateState, including its signed-byte carry arithmetic. */
function updateState(state: Buffer, output: Buffer): void {
  let carry = 1;
  let changed = false;
  for (let i = 0; i < state.length; i++) {
    const sum = ((state[i]! << 24) >> 24) + ((output[i]! << 24) >> 24) + carry;
    const byte = sum & 0xff;
    changed = changed || state[i] !== byte;
    state[i] = byte;
    carry = sum >> 8;
  }
  if (!changed) state[0] = (state[0]! + 1) & 0xff;
}

const IV_CHARS = 16;

function cipherName(bits: BasicAesBits): 'aes-128-cbc' | 'aes-256-cbc' {
  if (bits !== 128 && bits !== 256) throw new RangeError('AES key size must be 128 or 256 bits');
  return bits === 128 ? 'aes-128-cbc' : 'aes-256-cbc';
}

function ivBytes(iv: string): Buffer {
  const bytes = Buffer.from(iv, 'utf8');
  if (iv.length !== IV_CHARS || bytes.length !== IV_CHARS) throw new RangeError('IV must be 16 ASCII characters');
  return bytes;
}

/**
 * `iv + Base64(AES-CBC-PKCS5(key = sha1prngKey(accessKey, bits), iv = the 16 IV characters, UTF-8 plaintext))`,
 * the format of the basic interfaces' encrypted user name/password. A random IV is chosen when none is given.
 */
export function encryptBasicAes(accessKey: string, plaintext: string, bits: BasicAesBits = 256, iv?: string): string {
  const ivText = iv ?? randomBytes(12).toString('base64url');
  const cipher = createCipheriv(cipherName(bits), sha1prngKey(accessKey, bits), ivBytes(ivText));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ivText + ciphertext.toString('base64');
}

export function decryptBasicAes(accessKey: string, encrypted: string, bits: BasicAesBits = 256): string {
  const ivText = encrypted.slice(0, IV_CHARS);
  const body = encrypted.slice(IV_CHARS);
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new Error('encrypted value is not IV + Base64 ciphertext');
  }
  const decipher = createDecipheriv(cipherName(bits), sha1prngKey(accessKey, bits), ivBytes(ivText));
  try {
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('encrypted value could not be decrypted (wrong key or corrupted)');
  }
}
