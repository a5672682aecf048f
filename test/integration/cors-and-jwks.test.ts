import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { request } from 'node:http';
import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { api, syncedStack } from '../support/stack';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** CORS preflights from a listed origin, answered without a session; the JWKS of a key rotation. */
const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A raw request (fetch would refuse or rewrite Origin and the preflight headers). */
function raw(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const r = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', fail);
    r.end();
  });
}

describe('CORS preflight and the assertion JWKS', () => {
  let upstream: TestUpstream;
  let stack: Stack;
  const [current, previous] = [ecKey(), ecKey()];
  beforeAll(async () => {
    upstream = await startTestUpstream();
    stack = await syncedStack({
      upstreamUrl: upstream.url,
      env: { KOOGATE_CORS_ORIGINS: 'https://spa.example,https://admin.example', KOOGATE_ASSERTION_KEY: `${current}\n${previous}` },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });
  const preflight = (origin: string, method = 'PUT', headersAsked = 'content-type, x-csrf-token') =>
    raw(`${stack.koogate.url}/api/notes/7`, 'OPTIONS', { origin, 'access-control-request-method': method, 'access-control-request-headers': headersAsked });

  test('a preflight from a listed origin: 204 with what the browser asked for, no session, nothing forwarded', async () => {
    const seen = upstream.seen.length;
    const res = await preflight('https://spa.example');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://spa.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toBe('PUT');
    expect(res.headers['access-control-allow-headers']).toBe('content-type, x-csrf-token');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(String(res.headers.vary)).toContain('Origin');
    expect(upstream.seen.length).toBe(seen);
  });

  test('then the non-simple call itself gets a readable 401 with login_url', async () => {
    const res = await raw(`${stack.koogate.url}/api/notes/7`, 'PUT', { origin: 'https://spa.example', 'content-type': 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' });
    expect(res.status).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe('https://spa.example');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'KOOGATE_SESSION_EXPIRED', login_url: '/_koogate/login?returnTo=%2Fapi%2Fnotes%2F7' });
  });

  test('an unlisted origin, a look-alike, or hostile header lists get no CORS grant', async () => {
    for (const origin of ['https://evil.example', 'https://spa.example.evil.example', 'null', 'https://SPA.example']) {
      const res = await preflight(origin);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.status).toBe(401);
    }
    const odd = await preflight('https://admin.example', 'PUT;', 'x-a, bad header, x-b/c');
    expect(odd.status).toBe(204);
    expect(odd.headers['access-control-allow-methods']).toBeUndefined();
    expect(odd.headers['access-control-allow-headers']).toBe('x-a');
    // A plain OPTIONS (no preflight) is the app's, behind the session check as before.
    expect((await raw(`${stack.koogate.url}/api/notes/7`, 'OPTIONS', { origin: 'https://spa.example' })).status).toBe(401);
  });

  test('the JWKS publishes both keys with their kid; the first signs', async () => {
    const jwks = (await (await fetch(`${stack.koogate.url}/_koogate/jwks.json`)).json()) as { keys: { kid: string; kty: string; alg: string }[] };
    expect(jwks.keys).toHaveLength(2);
    expect(new Set(jwks.keys.map((k) => k.kid)).size).toBe(2);
    for (const k of jwks.keys) expect(k).toMatchObject({ kty: 'EC', alg: 'ES256' });
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    await client.request(`${stack.url}/api/me`, { headers: api });
    const jwt = String(upstream.seen[upstream.seen.length - 1]!.headers['x-koogate-assertion']);
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const { kid } = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string };
    expect(kid).toBe(jwks.keys[0]!.kid);
    const verifies = (jwk: object) => verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
    expect(verifies(jwks.keys[0]!)).toBe(true);
    expect(verifies(jwks.keys[1]!)).toBe(false);
  });
});
