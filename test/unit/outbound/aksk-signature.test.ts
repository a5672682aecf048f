import { createHash, createHmac } from 'node:crypto';
import {
  akskEncode,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  parseSdkDate,
  sdkDate,
  signRequest,
  stringToSign,
  verifyRequest,
} from '../../../src/outbound/aksk-signature';
import { sortedJson, usageSignature, usageSignatureValid } from '../../../src/outbound/usage-signature';

/*
 * Reference values. The canonical requests below are written out by hand from the public description of
 * Huawei Cloud's API-gateway signer (APIG "SDK-HMAC-SHA256"). The string-to-sign hashes and signatures were
 * computed by a second, independent implementation: a short Python 3 program written from the same
 * description (urllib.parse.quote(s, safe='~') per path segment and query part, sorted query names and
 * values, lower-case sorted headers with trimmed values, hashlib/hmac for SHA-256), run once by hand:
 *
 *   cr  = "\n".join([method, curi(path), cq(query), "".join(k+":"+h[k]+"\n" for k in signed), ";".join(signed), sha256(body)])
 *   sts = "SDK-HMAC-SHA256\n" + date + "\n" + sha256(cr)
 *   sig = hmac.new(sk, sts, sha256).hexdigest()
 */
const ORDER_QUERY = {
  keys: { ak: 'AKIDEXAMPLE0001', sk: 'sk-example-secret-0001' },
  date: '20260101T080000Z',
  request: {
    method: 'GET',
    pathAndQuery: '/api/mkp-openapi-public/global/v1/order/query?orderId=CS2207261447AUY4H&orderLineId=CS2207261447AUY4H-000001',
    headers: { Host: 'mkt.myhuaweicloud.com', 'Content-Type': 'application/json;charset=UTF-8' },
    body: '',
  },
  canonical:
    'GET\n' +
    '/api/mkp-openapi-public/global/v1/order/query/\n' +
    'orderId=CS2207261447AUY4H&orderLineId=CS2207261447AUY4H-000001\n' +
    'content-type:application/json;charset=UTF-8\n' +
    'host:mkt.myhuaweicloud.com\n' +
    'x-sdk-date:20260101T080000Z\n' +
    '\n' +
    'content-type;host;x-sdk-date\n' +
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  stringToSign: 'SDK-HMAC-SHA256\n20260101T080000Z\nb4901fde2ef8aebf03b7f4813563de531e8c5a9fc8bb16d88ecf8bd1387c5c2e',
  signature: 'dc09cdfc4d6286fa6144a05619332298a8fc1f119bd337f24dae10ad49733060',
};

/** Encoded and reserved characters in path and query, repeated and empty parameters, a padded header, a body. */
const AWKWARD = {
  keys: { ak: 'AK2', sk: 'sk-two' },
  date: '20261201T235959Z',
  request: {
    method: 'post',
    pathAndQuery: '/api/a%20b/%E4%B8%AD/x*y(z)?b=2&a=1&a=0&empty&c=%2B+&=skip',
    headers: { Host: '127.0.0.1:8443', 'Content-Type': 'application/json', 'X-Project-Id': '  0123abc  ' },
    body: '{"k":"v"}',
  },
  canonical:
    'POST\n' +
    '/api/a%20b/%E4%B8%AD/x%2Ay%28z%29/\n' +
    'a=0&a=1&b=2&c=%2B%2B&empty=\n' +
    'content-type:application/json\n' +
    'host:127.0.0.1:8443\n' +
    'x-project-id:0123abc\n' +
    'x-sdk-date:20261201T235959Z\n' +
    '\n' +
    'content-type;host;x-project-id;x-sdk-date\n' +
    '666c1aa02e8068c6d5cc1d3295009432c16790bec28ec8ce119d0d1a18d61319',
  stringToSign: 'SDK-HMAC-SHA256\n20261201T235959Z\nb1a883e9eab52da8d57a1250cb6864f8d1b4c8507be2f235b5d10213dbb10279',
  signature: '9a83f0c066138569dd04ea4b7651d273db10220d766475b53d4ac5b1b0b6b250',
};

describe('AK/SK signing (SDK-HMAC-SHA256) against independently computed references', () => {
  it.each([
    ['order query', ORDER_QUERY],
    ['awkward request', AWKWARD],
  ])('%s: canonical request, string to sign, signature and Authorization header', (_name, c) => {
    const withDate = { ...c.request, headers: { ...c.request.headers, 'X-Sdk-Date': c.date } };
    const signed = c.canonical.split('\n').at(-2)!.split(';');
    expect(canonicalRequest(withDate, signed)).toBe(c.canonical);
    expect(stringToSign(c.canonical, c.date)).toBe(c.stringToSign);
    // The same hash and HMAC over the hand-written canonical text, straight from node:crypto.
    const direct = `SDK-HMAC-SHA256\n${c.date}\n${createHash('sha256').update(c.canonical).digest('hex')}`;
    expect(direct).toBe(c.stringToSign);
    expect(createHmac('sha256', c.keys.sk).update(direct).digest('hex')).toBe(c.signature);

    const headers = signRequest(c.keys, c.request, parseSdkDate(c.date));
    expect(headers['X-Sdk-Date']).toBe(c.date);
    expect(headers.Authorization).toBe(`SDK-HMAC-SHA256 Access=${c.keys.ak}, SignedHeaders=${signed.join(';')}, Signature=${c.signature}`);
  });

  it('formats and parses X-Sdk-Date in UTC, refusing impossible dates', () => {
    expect(sdkDate(Date.UTC(2026, 0, 1, 8, 0, 0, 999))).toBe('20260101T080000Z');
    expect(parseSdkDate('20260101T080000Z')).toBe(Date.UTC(2026, 0, 1, 8));
    for (const bad of ['20261301T000000Z', '20260230T000000Z', '2026-01-01T08:00:00Z', '20260101T080000', '']) expect(parseSdkDate(bad)).toBeNaN();
  });

  it('encodes everything but the unreserved characters, as the signer does', () => {
    expect(akskEncode("A-z_0.9~!'()* /?&=中")).toBe('A-z_0.9~%21%27%28%29%2A%20%2F%3F%26%3D%E4%B8%AD');
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('')).toBe('/');
    expect(canonicalUri('/a/')).toBe('/a/');
    expect(canonicalUri('/bad%zz')).toBe('/bad%25zz/');
    expect(canonicalQueryString('')).toBe('');
    expect(canonicalQueryString('x=%E4%B8%AD&x=a')).toBe('x=a&x=%E4%B8%AD');
  });

  describe('verification (the stand-in marketplace side)', () => {
    const now = parseSdkDate(ORDER_QUERY.date);
    const secretOf = (ak: string) => (ak === ORDER_QUERY.keys.ak ? ORDER_QUERY.keys.sk : undefined);
    const received = (extra: Record<string, string> = {}) => {
      const auth = signRequest(ORDER_QUERY.keys, ORDER_QUERY.request, now);
      return { ...ORDER_QUERY.request, headers: { host: 'mkt.myhuaweicloud.com', 'content-type': 'application/json;charset=UTF-8', 'x-sdk-date': auth['X-Sdk-Date'], authorization: auth.Authorization, ...extra } };
    };

    it('accepts a correctly signed request, unsigned extra headers included', () => {
      expect(verifyRequest({ ...received(), headers: { ...received().headers, 'user-agent': 'x' } }, secretOf, now, 900_000)).toEqual({ ok: true, ak: 'AKIDEXAMPLE0001' });
    });

    it.each([
      ['no Authorization', { authorization: '' }, 'missing'],
      ['another scheme', { authorization: 'Bearer abc' }, 'malformed'],
      ['unknown AK', { authorization: received().headers.authorization.replace('AKIDEXAMPLE0001', 'AKOTHER') }, 'unknown-key'],
      ['changed host', { host: 'evil.example' }, 'mismatch'],
      ['changed signature', { authorization: received().headers.authorization.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, 'mismatch'],
      ['date out of window', { 'x-sdk-date': '20260101T090000Z' }, 'stale'],
      ['garbage date', { 'x-sdk-date': 'yesterday' }, 'malformed'],
    ])('refuses %s', (_n, extra, reason) => {
      const r = received(extra as Record<string, string>);
      if ((extra as Record<string, string>).authorization === '') delete (r.headers as Record<string, string | undefined>).authorization;
      expect(verifyRequest(r, secretOf, now, 900_000)).toEqual({ ok: false, reason });
    });

    it('refuses a changed query or body', () => {
      const r = received();
      expect(verifyRequest({ ...r, pathAndQuery: r.pathAndQuery.replace('000001', '000002') }, secretOf, now, 900_000)).toEqual({ ok: false, reason: 'mismatch' });
      expect(verifyRequest({ ...r, body: 'x' }, secretOf, now, 900_000)).toEqual({ ok: false, reason: 'mismatch' });
    });
  });
});

describe('usage-record push signature', () => {
  // Body and Base64 signature computed once by hand with Python's hmac/hashlib/base64 over
  // "ts=1767254700000&nonce=n0nce-1&body=" + the body below (keys sorted at every depth).
  const body =
    '{"usage_records":[{"begin_time":"20260101T070000Z","end_time":"20260101T080000Z","instance_id":"inst-1","metering_sn":"sn-0001","record_time":"20260101T080500Z","usage_value":"12.5"}]}';

  it('sorts keys at every depth and keeps array order', () => {
    const unsorted = { usage_records: [{ usage_value: '12.5', metering_sn: 'sn-0001', instance_id: 'inst-1', end_time: '20260101T080000Z', record_time: '20260101T080500Z', begin_time: '20260101T070000Z' }] };
    expect(sortedJson(unsorted)).toBe(body);
    expect(sortedJson({ b: [3, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[3,{"c":2,"d":1}]}');
  });

  it('matches the reference and verifies only the exact input', () => {
    const sig = usageSignature('basic-key-example-0001', '1767254700000', 'n0nce-1', body);
    expect(sig).toBe('IFl/9jcW8NXUFeGIknsqJrp6xRXzVwwRQNfCHKtDkTY=');
    expect(usageSignatureValid('basic-key-example-0001', '1767254700000', 'n0nce-1', body, sig)).toBe(true);
    expect(usageSignatureValid('basic-key-example-0001', '1767254700001', 'n0nce-1', body, sig)).toBe(false);
    expect(usageSignatureValid('other-key', '1767254700000', 'n0nce-1', body, sig)).toBe(false);
    expect(usageSignatureValid('basic-key-example-0001', '1767254700000', 'n0nce-1', body, 'not base64!')).toBe(false);
  });
});
