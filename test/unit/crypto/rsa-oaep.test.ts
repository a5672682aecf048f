import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import {
  decryptOaep,
  encryptOaep,
  loadPrivateKey,
  loadPublicKey,
  OAEP_VARIANTS,
  OaepError,
  publicKeyFrom,
  type OaepVariant,
} from '../../../src/crypto/rsa-oaep';

// 3072-bit generation takes a while: once per file.
let privateKey: KeyObject;
let publicKey: KeyObject;
beforeAll(() => {
  ({ privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 }));
});

const secret = Buffer.from('client-secret-Ünïcode-0123456789', 'utf8');

describe('OAEP variants', () => {
  it('lists the try-order', () => {
    expect(OAEP_VARIANTS).toEqual(['sha256-mgf1sha1', 'sha1', 'sha256']);
  });

  it.each(OAEP_VARIANTS.map((v) => [v]))('round-trips %s', (variant) => {
    const ciphertext = encryptOaep(publicKey, secret, variant);
    expect(ciphertext.length).toBe(384);
    const result = decryptOaep(privateKey, ciphertext);
    expect(result.plaintext.equals(secret)).toBe(true);
    expect(result.variant).toBe(variant);
  });

  it.each(OAEP_VARIANTS.map((v) => [v]))('fails %s when only the other variants are allowed', (variant) => {
    const ciphertext = encryptOaep(publicKey, secret, variant);
    const others = OAEP_VARIANTS.filter((v) => v !== variant);
    expect(() => decryptOaep(privateKey, ciphertext, others)).toThrow(OaepError);
    expect(decryptOaep(privateKey, ciphertext, [variant]).variant).toBe(variant);
  });

  it.each([
    ['sha1', 'sha1'],
    ['sha256', 'sha256'],
  ] as const)('decodes what Node itself encrypts (%s)', (variant, oaepHash) => {
    const ciphertext = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, secret);
    expect(decryptOaep(privateKey, ciphertext).variant).toBe(variant);
  });

  it.each([
    ['sha1', 'sha1'],
    ['sha256', 'sha256'],
  ] as const)('encodes what Node itself decrypts (%s)', (variant, oaepHash) => {
    const ciphertext = encryptOaep(publicKey, secret, variant);
    const plaintext = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ciphertext);
    expect(plaintext.equals(secret)).toBe(true);
  });

  it('round-trips an empty and a maximum-length message', () => {
    for (const [variant, max] of [
      ['sha256-mgf1sha1', 384 - 2 * 32 - 2],
      ['sha1', 384 - 2 * 20 - 2],
      ['sha256', 384 - 2 * 32 - 2],
    ] as [OaepVariant, number][]) {
      for (const message of [Buffer.alloc(0), Buffer.alloc(max, 0x01)]) {
        expect(decryptOaep(privateKey, encryptOaep(publicKey, message, variant), [variant]).plaintext.equals(message)).toBe(true);
      }
      expect(() => encryptOaep(publicKey, Buffer.alloc(max + 1), variant)).toThrow(RangeError);
    }
  });

  it('is randomised', () => {
    expect(encryptOaep(publicKey, secret, 'sha256-mgf1sha1').equals(encryptOaep(publicKey, secret, 'sha256-mgf1sha1'))).toBe(false);
  });

  it('fails with one generic error on corrupted, short or foreign ciphertext', () => {
    const ciphertext = encryptOaep(publicKey, secret, 'sha256-mgf1sha1');
    const flipped = Buffer.from(ciphertext);
    flipped[200] = flipped[200]! ^ 0x01;
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const errors = [flipped, ciphertext.subarray(1), Buffer.alloc(384, 0xff), Buffer.alloc(0)].map((c) => {
      try {
        decryptOaep(privateKey, c);
        return undefined;
      } catch (e) {
        return e;
      }
    });
    for (const e of errors) {
      expect(e).toBeInstanceOf(OaepError);
      expect((e as Error).message).toBe('RSA-OAEP decryption failed');
    }
    expect(() => decryptOaep(other.privateKey, encryptOaep(publicKey, secret, 'sha1'))).toThrow(OaepError);
  });

  it('fails with an empty variant list', () => {
    expect(() => decryptOaep(privateKey, encryptOaep(publicKey, secret, 'sha1'), [])).toThrow(OaepError);
  });

  it('rejects a raw RSA block that is not OAEP', () => {
    const block = Buffer.alloc(384, 0x00);
    block[383] = 0x2a;
    const ciphertext = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, block);
    expect(() => decryptOaep(privateKey, ciphertext)).toThrow(OaepError);
  });
});

describe('key loading', () => {
  it('loads PKCS#8 and PKCS#1 private keys', () => {
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    for (const pem of [pkcs8, pkcs1]) {
      const key = loadPrivateKey(pem);
      expect(decryptOaep(key, encryptOaep(publicKey, secret, 'sha256-mgf1sha1')).plaintext.equals(secret)).toBe(true);
    }
  });

  it('loads SPKI and PKCS#1 public keys and derives the public key', () => {
    const spki = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    for (const pem of [spki, pkcs1]) {
      const key = loadPublicKey(pem);
      expect(decryptOaep(privateKey, encryptOaep(key, secret, 'sha256')).plaintext.equals(secret)).toBe(true);
    }
    expect(publicKeyFrom(privateKey).export({ type: 'spki', format: 'pem' })).toBe(spki);
  });

  it('refuses garbage, public keys, encrypted and non-RSA keys without echoing the input', () => {
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const body = pkcs8.split('\n')[1]!;
    const corrupted = pkcs8.replace(body, body.replace(/[A-Za-z]/g, 'A'));
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const spki = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    for (const pem of ['not a key', corrupted, encrypted, ec, spki]) {
      let message = '';
      try {
        loadPrivateKey(pem);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^RSA private key: /);
      expect(message).not.toContain(body.slice(0, 16));
    }
    expect(() => loadPublicKey(pkcs8)).toThrow(/RSA public key: expected a PEM block/);
    expect(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow('RSA public key: the PEM could not be parsed');
  });
});
