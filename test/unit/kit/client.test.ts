import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyKitV2Signature, verifyV1AuthToken } from '../../../src/crypto/kit-signature';
import { decryptOaep } from '../../../src/crypto/rsa-oaep';
import { buildKitRequest, kitTimeStamp, sendKitCall } from '../../../src/kit/client';

const AK = 'AK_client_unit_test';
const NOW = 1_700_000_000_123;

let privateKey: KeyObject;
let publicKey: KeyObject;
beforeAll(() => {
  ({ privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 }));
});

function verifyV2(req: { headers: Record<string, string>; body: string }): 'canonical' | 'raw' | null {
  return verifyKitV2Signature({
    accessKey: AK,
    nonce: req.headers['x-nonce'] ?? '',
    timestamp: req.headers['x-timestamp'] ?? '',
    xSign: req.headers['x-sign'] ?? '',
    rawBody: req.body,
    parsedBody: JSON.parse(req.body),
  });
}

describe('kitTimeStamp', () => {
  it('formats UTC+8 yyyyMMddHHmmssSSS', () => {
    expect(kitTimeStamp(NOW)).toBe('20231115061320123');
    expect(kitTimeStamp(Date.UTC(2024, 11, 31, 16, 0, 0, 5))).toBe('20250101000000005');
  });
});

describe('buildKitRequest v2', () => {
  const tenant = {
    instanceId: 'i-1',
    tenantId: 't-1',
    tenantCode: 'acme',
    name: 'Acme',
    domainName: 'https://acme.example',
    orderId: null,
    flag: 1,
    testFlag: 0,
    timeStamp: '20231115061320123',
  };

  it('produces a request the receiver accepts', () => {
    const req = buildKitRequest({ baseUrl: 'https://isv.example/', iface: 'tenantSync', accessKey: AK, body: tenant, now: () => NOW, nonce: 'N1' });
    expect(req.url).toBe('https://isv.example/produceAPI/v2/tenantSync');
    expect(req.headers).toMatchObject({ 'content-type': 'application/json', 'x-timestamp': String(NOW), 'x-nonce': 'N1' });
    expect(req.headers['x-sign']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(req.body)).toEqual(tenant);
    expect(verifyV2(req)).toBe('canonical');
  });

  it('uses a fresh random nonce and the clock by default', () => {
    const a = buildKitRequest({ baseUrl: 'http://x', iface: 'tenantSync', accessKey: AK, body: tenant });
    const b = buildKitRequest({ baseUrl: 'http://x', iface: 'tenantSync', accessKey: AK, body: tenant });
    expect(a.headers['x-nonce']).toMatch(/^[0-9a-f]{64}$/);
    expect(a.headers['x-nonce']).not.toBe(b.headers['x-nonce']);
    expect(Math.abs(Number(a.headers['x-timestamp']) - Date.now())).toBeLessThan(5000);
  });

  it('signs nested structures as sent (authSync userList)', () => {
    const body = {
      tenantId: 't-1',
      appId: 'app-1',
      userList: [{ userName: 'u1', name: null, enable: 'true', role: 'admin' }],
      flag: 1,
      skipped: undefined,
    };
    const req = buildKitRequest({ baseUrl: 'http://x', iface: 'authSync', accessKey: AK, body });
    expect(req.body).not.toContain('skipped');
    expect(verifyV2(req)).toBe('canonical');
    const tampered = { ...req, body: req.body.replace('"true"', '"false"') };
    expect(verifyV2(tampered)).toBeNull();
  });

  it('encrypts applicationSync clientSecret with sha256-mgf1sha1 by default', () => {
    const body = { tenantId: 't-1', appId: 'app-1', clientId: 'cid', clientSecret: 'plain-secret', flag: 1 };
    const req = buildKitRequest({ baseUrl: 'http://x', iface: 'applicationSync', accessKey: AK, body, publicKey });
    const sent = JSON.parse(req.body) as { clientSecret: string };
    expect(sent.clientSecret).not.toContain('plain');
    const decrypted = decryptOaep(privateKey, Buffer.from(sent.clientSecret, 'base64'));
    expect(decrypted.plaintext.toString('utf8')).toBe('plain-secret');
    expect(decrypted.variant).toBe('sha256-mgf1sha1');
    expect(body.clientSecret).toBe('plain-secret');
    expect(verifyV2(req)).toBe('canonical');
  });

  it('honours the OAEP variant, and leaves the secret alone without a key or on other interfaces', () => {
    const body = { clientSecret: 'plain-secret' };
    const sha1 = buildKitRequest({ baseUrl: 'http://x', iface: 'applicationSync', accessKey: AK, body, publicKey, oaepVariant: 'sha1' });
    const ct = Buffer.from((JSON.parse(sha1.body) as { clientSecret: string }).clientSecret, 'base64');
    expect(decryptOaep(privateKey, ct).variant).toBe('sha1');
    expect(JSON.parse(buildKitRequest({ baseUrl: 'http://x', iface: 'applicationSync', accessKey: AK, body }).body)).toEqual(body);
    expect(JSON.parse(buildKitRequest({ baseUrl: 'http://x', iface: 'tenantSync', accessKey: AK, body, publicKey }).body)).toEqual(body);
  });
});

describe('buildKitRequest v1', () => {
  function v1Params(body: string): Record<string, string> {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }

  it('sends structured fields as JSON strings and signs every parameter', () => {
    const body = {
      tenantId: 't-1',
      appId: 'app-1',
      userList: [{ userName: 'u1', enable: 'true' }],
      flag: 1,
      gone: null,
      timeStamp: '20231115061320123',
    };
    const req = buildKitRequest({ baseUrl: 'http://x', iface: 'authSync', accessKey: AK, body, generation: 'v1' });
    expect(req.url).toBe('http://x/produceAPI/authSync');
    const sent = JSON.parse(req.body) as Record<string, unknown>;
    expect(sent['userList']).toBe('[{"userName":"u1","enable":"true"}]');
    expect(sent).not.toHaveProperty('gone');
    const token = req.headers['authToken'] ?? '';
    expect(verifyV1AuthToken(AK, '20231115061320123', v1Params(req.body), token)).toBe(true);
    expect(verifyV1AuthToken(AK, '20231115061320123', { ...v1Params(req.body), flag: '2' }, token)).toBe(false);
  });

  it('adds a timeStamp when the body has none, and encrypts the secret too', () => {
    const req = buildKitRequest({
      baseUrl: 'http://x',
      iface: 'applicationSync',
      accessKey: AK,
      body: { tenantId: 't-1', clientSecret: 'plain-secret' },
      generation: 'v1',
      publicKey,
      now: () => NOW,
    });
    const sent = JSON.parse(req.body) as Record<string, string>;
    expect(sent['timeStamp']).toBe('20231115061320123');
    expect(decryptOaep(privateKey, Buffer.from(sent['clientSecret'] ?? '', 'base64')).plaintext.toString()).toBe('plain-secret');
    expect(verifyV1AuthToken(AK, '20231115061320123', v1Params(req.body), req.headers['authToken'] ?? '')).toBe(true);
  });
});

describe('sendKitCall', () => {
  let server: Server;
  let baseUrl: string;
  const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        if (req.url?.startsWith('/slow/')) return; // never answers
        if (req.url?.startsWith('/text/')) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
          return;
        }
        const ok =
          verifyKitV2Signature({
            accessKey: AK,
            nonce: String(req.headers['x-nonce']),
            timestamp: String(req.headers['x-timestamp']),
            xSign: String(req.headers['x-sign']),
            rawBody: body,
            parsedBody: JSON.parse(body),
          }) !== null;
        const answer = ok ? { resultCode: '000000', resultMsg: 'Success' } : { resultCode: '000001', resultMsg: 'bad sign' };
        res.writeHead(200, { 'content-type': 'application/json', 'x-answer': 'yes' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts a signed call and returns status, headers and parsed body', () => {
    return sendKitCall({ baseUrl, iface: 'tenantSync', accessKey: AK, body: { tenantId: 't-1', flag: 1 } }).then((res) => {
      expect(res.status).toBe(200);
      expect(res.headers['x-answer']).toBe('yes');
      expect(res.body).toEqual({ resultCode: '000000', resultMsg: 'Success' });
      expect(res.text).toBe('{"resultCode":"000000","resultMsg":"Success"}');
      const last = seen[seen.length - 1]!;
      expect(last.url).toBe('/produceAPI/v2/tenantSync');
      expect(last.headers['content-type']).toBe('application/json');
    });
  });

  it('reports a wrong key as the receiver answers it', async () => {
    const res = await sendKitCall({ baseUrl, iface: 'tenantSync', accessKey: 'AK_wrong', body: { tenantId: 't-1' } });
    expect(res.body).toEqual({ resultCode: '000001', resultMsg: 'bad sign' });
  });

  it('returns non-JSON answers as text', async () => {
    const res = await sendKitCall({ baseUrl: `${baseUrl}/text`, iface: 'tenantSync', accessKey: AK, body: {} });
    expect(res.status).toBe(502);
    expect(res.body).toBeUndefined();
    expect(res.text).toBe('bad gateway');
  });

  it('gives up after the timeout', async () => {
    await expect(
      sendKitCall({ baseUrl: `${baseUrl}/slow`, iface: 'tenantSync', accessKey: AK, body: {}, timeoutMs: 150 }),
    ).rejects.toThrow(/abort|timeout/i);
  });
});
