import { createHmac } from 'node:crypto';
import {
  canonicalPayload,
  signKitV2,
  v1AuthToken,
  v1BodySign,
  v1SignedString,
  verifyKitV2Signature,
  verifyV1AuthToken,
} from '../../../src/crypto/kit-signature';

const AK = 'AK_unit_test_key';
const NONCE = 'abc123';
const TS = '1700000000000';

function signed(body: string, form: 'canonical' | 'raw' = 'canonical') {
  const parsed: unknown = JSON.parse(body);
  const payload = form === 'canonical' ? canonicalPayload(parsed) : body;
  return { accessKey: AK, nonce: NONCE, timestamp: TS, xSign: signKitV2(AK, NONCE, TS, payload), rawBody: body, parsedBody: parsed };
}

describe('canonicalPayload', () => {
  it('drops top-level nulls but keeps nested nulls and nested order', () => {
    const body = { z: null, b: { y: null, a: 1 }, a: [3, null, { d: null, c: 2 }] };
    expect(canonicalPayload(body)).toBe('{"a":[3,null,{"d":null,"c":2}],"b":{"y":null,"a":1}}');
  });

  it('keeps empty strings, zero, false and empty containers at top level', () => {
    expect(canonicalPayload({ s: '', n: 0, f: false, o: {}, l: [] })).toBe('{"f":false,"l":[],"n":0,"o":{},"s":""}');
  });

  it('sorts by UTF-16 code units: uppercase before lowercase, non-ASCII last, astral before U+FFxx', () => {
    const body = { b: 1, B: 2, a: 3, A: 4, é: 5, _: 6, '1': 7, '10': 8, '9': 9, '\u{1F600}': 10, '\uFF21': 11 };
    // Integer-like keys are where a sorted JS object would go wrong (it puts "9" before "10").
    expect(canonicalPayload(body)).toBe(
      '{"1":7,"10":8,"9":9,"A":4,"B":2,"_":6,"a":3,"b":1,"é":5,"\u{1F600}":10,"\uFF21":11}',
    );
  });

  it('does not use locale collation', () => {
    expect(canonicalPayload({ a: 1, Z: 2 })).toBe('{"Z":2,"a":1}');
  });

  it('serialises compactly, escaping like JSON', () => {
    expect(canonicalPayload({ 'k"': 'line\nbreak "q" ü' })).toBe('{"k\\"":"line\\nbreak \\"q\\" ü"}');
  });

  it.each([[null], [[1, 2]], ['text'], [42], [undefined], [new Date(0)]])('rejects a non-object body %p', (body) => {
    expect(() => canonicalPayload(body)).toThrow(TypeError);
  });

  it('accepts a null-prototype object', () => {
    const body = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 });
    expect(canonicalPayload(body)).toBe('{"a":2,"b":1}');
  });
});

describe('signKitV2 / verifyKitV2Signature', () => {
  const body = '{"tenantId": "t-1", "name": "Acme", "extra": null, "flag": 1}';

  it('computes hex HMAC-SHA256 over accessKey + nonce + timestamp + payload', () => {
    const expected = createHmac('sha256', AK).update(`${AK}${NONCE}${TS}{"a":1}`).digest('hex');
    expect(signKitV2(AK, NONCE, TS, '{"a":1}')).toBe(expected);
  });

  it('accepts the canonical form', () => {
    expect(verifyKitV2Signature(signed(body))).toBe('canonical');
  });

  it('falls back to the raw body', () => {
    expect(verifyKitV2Signature(signed(body, 'raw'))).toBe('raw');
  });

  it('falls back to the raw body when the parsed body is not an object', () => {
    const arrayBody = '[1,2]';
    const xSign = signKitV2(AK, NONCE, TS, arrayBody);
    expect(verifyKitV2Signature({ accessKey: AK, nonce: NONCE, timestamp: TS, xSign, rawBody: arrayBody, parsedBody: [1, 2] })).toBe('raw');
  });

  it('accepts an uppercase x-sign', () => {
    const req = signed(body);
    expect(verifyKitV2Signature({ ...req, xSign: req.xSign.toUpperCase() })).toBe('canonical');
  });

  it('rejects a tampered body', () => {
    const req = signed(body);
    const tampered = body.replace('Acme', 'Evil');
    expect(verifyKitV2Signature({ ...req, rawBody: tampered, parsedBody: JSON.parse(tampered) })).toBeNull();
  });

  it('rejects another nonce, timestamp or key', () => {
    const req = signed(body);
    expect(verifyKitV2Signature({ ...req, nonce: 'other' })).toBeNull();
    expect(verifyKitV2Signature({ ...req, timestamp: '1700000000001' })).toBeNull();
    expect(verifyKitV2Signature({ ...req, accessKey: 'AK_other' })).toBeNull();
  });

  it.each([
    ['empty', () => ''],
    ['truncated', (good: string) => good.slice(0, 63)],
    ['one byte short', (good: string) => good.slice(0, 62)],
    ['one byte extra', (good: string) => `${good}00`],
    ['non-hex', (good: string) => `${good.slice(0, 63)}g`],
    ['padded with whitespace', (good: string) => ` ${good}`],
  ])('rejects a malformed x-sign (%s)', (_name, mangle) => {
    const req = signed(body);
    expect(verifyKitV2Signature({ ...req, xSign: mangle(req.xSign) })).toBeNull();
  });

  it('rejects a signature with a nested value changed', () => {
    const nested = '{"userList":[{"userName":"u1","enable":"true"}],"tenantId":"t"}';
    const req = signed(nested);
    const changed = nested.replace('"true"', '"false"');
    expect(verifyKitV2Signature({ ...req, rawBody: changed, parsedBody: JSON.parse(changed) })).toBeNull();
  });
});

describe('V1 authToken and Body-Sign', () => {
  const params = { tenantId: 't-1', Zeta: 'z', flag: '1', timeStamp: '20231115062000123', name: 'A&B=C' };

  it('sorts parameters by name (code units) and joins them without encoding', () => {
    expect(v1SignedString(params)).toBe('Zeta=z&flag=1&name=A&B=C&tenantId=t-1&timeStamp=20231115062000123');
  });

  it('is Base64 HMAC-SHA256 keyed with accessKey + timeStamp', () => {
    const expected = createHmac('sha256', `${AK}20231115062000123`).update(v1SignedString(params)).digest('base64');
    expect(v1AuthToken(AK, '20231115062000123', params)).toBe(expected);
  });

  it('verifies exactly the token it produces', () => {
    const token = v1AuthToken(AK, params.timeStamp, params);
    expect(verifyV1AuthToken(AK, params.timeStamp, params, token)).toBe(true);
    expect(verifyV1AuthToken(AK, params.timeStamp, { ...params, flag: '2' }, token)).toBe(false);
    expect(verifyV1AuthToken(AK, '20231115062000124', params, token)).toBe(false);
    expect(verifyV1AuthToken(AK, params.timeStamp, params, token.slice(0, -1))).toBe(false);
    const flipped = token.replace(/[A-Za-z]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()));
    expect(verifyV1AuthToken(AK, params.timeStamp, params, flipped)).toBe(false);
    expect(verifyV1AuthToken(AK, params.timeStamp, params, '')).toBe(false);
  });

  it('signs the exact response bytes', () => {
    const text = '{"resultCode":"000000","resultMsg":"成功"}';
    const expected = createHmac('sha256', AK).update(Buffer.from(text, 'utf8')).digest('base64');
    expect(v1BodySign(AK, text)).toBe(`sign_type="HMAC-SHA256", signature="${expected}"`);
    expect(v1BodySign(AK, Buffer.from(text, 'utf8'))).toBe(v1BodySign(AK, text));
  });
});
