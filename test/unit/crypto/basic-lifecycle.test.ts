import { createHash } from 'node:crypto';
import { decryptBasicAes, encryptBasicAes, sha1prngKey, signBasicV2, verifyBasicV2Signature } from '../../../src/crypto/basic-lifecycle';

const AK = 'AK_basic_unit';

describe('sha1prngKey', () => {
  it('starts with SHA1(SHA1(seed)) and is a prefix-stable stream', () => {
    const inner = createHash('sha1').update(AK).digest();
    const first = createHash('sha1').update(inner).digest();
    const k256 = sha1prngKey(AK, 256);
    expect(k256.subarray(0, 20).equals(first)).toBe(true);
    expect(sha1prngKey(AK, 128).equals(k256.subarray(0, 16))).toBe(true);
    expect(sha1prngKey(AK, 192).equals(k256.subarray(0, 24))).toBe(true);
  });

  it('rejects other sizes', () => {
    expect(() => sha1prngKey(AK, 64)).toThrow(RangeError);
  });
});

describe('basic AES', () => {
  it.each([[128], [256]] as const)('round-trips with a random IV (%i bits)', (bits) => {
    const a = encryptBasicAes(AK, 'user@example.com', bits);
    const b = encryptBasicAes(AK, 'user@example.com', bits);
    expect(a).not.toBe(b);
    expect(decryptBasicAes(AK, a, bits)).toBe('user@example.com');
  });

  it('refuses a bad IV, bad Base64 and the wrong key', () => {
    expect(() => encryptBasicAes(AK, 'x', 256, 'short')).toThrow(RangeError);
    expect(() => encryptBasicAes(AK, 'x', 256, 'ééééééééééééééé')).toThrow(RangeError);
    expect(() => decryptBasicAes(AK, '0123456789abcdef!!!!')).toThrow(/IV \+ Base64/);
    const sealed = encryptBasicAes(AK, 'secret-password', 256, '0123456789abcdef');
    expect(() => decryptBasicAes('AK_other', sealed, 256)).toThrow();
  });
});

describe('signBasicV2', () => {
  it('differs from the kit V2 layout and verifies case-insensitively', () => {
    const sig = signBasicV2(AK, 'N1', '1700000000000', '{"a":1}');
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyBasicV2Signature(AK, 'N1', '1700000000000', '{"a":1}', sig.toUpperCase())).toBe(true);
    expect(verifyBasicV2Signature(AK, 'N1', '1700000000000', '{"a":2}', sig)).toBe(false);
    expect(verifyBasicV2Signature(AK, 'N1', '1700000000000', '{"a":1}', sig.slice(2))).toBe(false);
  });
});
