import { Sealer, SealError } from '../../../src/crypto/sealed';

const OLD = 'old-secret-0123456789-abcdefghijklmnop';
const NEW = 'new-secret-9876543210-zyxwvutsrqponmlk';

function flipChar(text: string, index: number): string {
  const c = text[index]!;
  return text.slice(0, index) + (c === 'A' ? 'B' : 'A') + text.slice(index + 1);
}

describe('Sealer', () => {
  it('round-trips, with a fresh IV every time', () => {
    const sealer = Sealer.fromSecrets([NEW]);
    const a = sealer.seal('client-secret ü');
    const b = sealer.seal('client-secret ü');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('client-secret');
    expect(sealer.open(a)).toBe('client-secret ü');
    expect(sealer.open(sealer.seal(''))).toBe('');
  });

  it('rotates: the old key still opens, the new key seals', () => {
    const before = Sealer.fromSecrets([OLD]);
    const sealedOld = before.seal('s3cret', 'tenant:t-1');
    const after = Sealer.fromSecrets([NEW, OLD]);
    expect(after.open(sealedOld, 'tenant:t-1')).toBe('s3cret');
    expect(after.needsReseal(sealedOld)).toBe(true);
    const sealedNew = after.seal('s3cret', 'tenant:t-1');
    expect(sealedNew.split('.')[1]).toBe(after.currentKeyId);
    expect(after.currentKeyId).not.toBe(before.currentKeyId);
    expect(after.needsReseal(sealedNew)).toBe(false);
    expect(() => before.open(sealedNew, 'tenant:t-1')).toThrow(/not among the configured secrets/);
  });

  it('derives the same key from the same secret', () => {
    expect(Sealer.fromSecrets([OLD]).open(Sealer.fromSecrets([OLD]).seal('x'))).toBe('x');
  });

  it('binds the additional data', () => {
    const sealer = Sealer.fromSecrets([NEW]);
    const sealed = sealer.seal('secret', 'tenant:t-1');
    expect(() => sealer.open(sealed, 'tenant:t-2')).toThrow(SealError);
    expect(() => sealer.open(sealed)).toThrow(SealError);
    expect(sealer.open(sealer.seal('secret'), '')).toBe('secret');
  });

  it('detects tampering in the IV, the ciphertext and the tag, without revealing the plaintext', () => {
    const sealer = Sealer.fromSecrets([NEW]);
    const sealed = sealer.seal('very-secret-value');
    const [v, id, iv, body] = sealed.split('.') as [string, string, string, string];
    const variants = [
      [v, id, flipChar(iv, 3), body],
      [v, id, iv, flipChar(body, 0)],
      [v, id, iv, flipChar(body, body.length - 2)],
      [v, id, iv, body.slice(0, -4)],
    ].map((p) => p.join('.'));
    for (const tampered of variants) {
      let message = '';
      try {
        sealer.open(tampered);
      } catch (e) {
        expect(e).toBeInstanceOf(SealError);
        message = (e as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('very-secret');
    }
  });

  it('rejects malformed values clearly', () => {
    const sealer = Sealer.fromSecrets([NEW]);
    const sealed = sealer.seal('x');
    const [, id] = sealed.split('.');
    for (const bad of ['', 'plain text', `v2.${id}.a.b`, `v1.${id}.!!!.b`, `v1.${id}.AAAA.AAAA`, `${sealed}.extra`]) {
      expect(() => sealer.open(bad)).toThrow(SealError);
    }
  });

  it('refuses an empty list and short secrets', () => {
    expect(() => Sealer.fromSecrets([])).toThrow(SealError);
    expect(() => Sealer.fromSecrets(['short'])).toThrow(/at least 16 characters/);
  });
});
