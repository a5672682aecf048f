import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import WebSocket from 'ws';
import type { Stack } from '../../src/sandbox/stack';
import { WS_CLOSE_SESSION_ENDED } from '../../src/proxy/ws-registry';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { api, syncedStack } from '../support/stack';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** koogate as the reverse proxy an ISV app lives behind: kinds of requests, streaming, websockets, failures. */
describe('the proxy in front of a real app', () => {
  let redis: RedisServer;
  let upstream: TestUpstream;
  let stack: Stack;
  let client: Client;
  const assertionKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startTestUpstream();
    stack = await syncedStack({
      redisUrl: redis.url,
      upstreamUrl: upstream.url,
      env: {
        KOOGATE_PUBLIC_PATHS: '/,/public/*',
        KOOGATE_CORS_ORIGINS: 'https://spa.example',
        KOOGATE_UPSTREAM_TIMEOUT_MS: '1500', // only /slow meets it, not a busy machine's slow answer
        KOOGATE_ASSERTION_KEY: assertionKey,
      },
    });
    client = new Client();
    await login(client, stack.url, stack.sandbox);
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    await redis?.dispose();
  });

  const last = () => upstream.seen[upstream.seen.length - 1]!;

  describe('which requests are sent to login and which get 401', () => {
    test.each([
      ['a top-level navigation', { accept: 'text/html,*/*', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, 'GET', 302],
      ['a navigation from a browser without Sec-Fetch headers', { accept: 'text/html,application/xhtml+xml' }, 'GET', 302],
      ['an iframe navigation', { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' }, 'GET', 401],
      ['fetch()', { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, 'GET', 401],
      ['fetch() that accepts HTML', { accept: 'text/html', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, 'GET', 401],
      ['XMLHttpRequest from an older library', { accept: 'text/html, */*', 'x-requested-with': 'XMLHttpRequest' }, 'GET', 401],
      ['an image', { accept: 'image/avif,image/webp,*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }, 'GET', 401],
      ['a script', { accept: '*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' }, 'GET', 401],
      ['a form post', { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, 'POST', 401],
      ['a form post from a browser without Sec-Fetch headers', { accept: 'text/html,application/xhtml+xml' }, 'POST', 401],
      ['an API client', { accept: 'application/json' }, 'GET', 401],
    ] as const)('%s', async (_what, headers, method, status) => {
      const res = await new Client({}).request(`${stack.url}/app/page?x=1`, { method, headers: { ...headers } });
      expect(res.status).toBe(status);
      if (status === 302) expect(res.location).toBe(`${stack.url}/_koogate/login?returnTo=%2Fapp%2Fpage%3Fx%3D1`);
      else if (method === 'POST') {
        // A navigation that is not a GET: the page, whose way out signs in again (a redirect would drop the method).
        expect(res.headers.get('content-type')).toContain('text/html');
        expect(res.text).toContain('KOOGATE_SESSION_EXPIRED');
        expect(res.text).toContain('href="/_koogate/login?returnTo=%2Fapp%2Fpage%3Fx%3D1"');
      } else expect(JSON.parse(res.text)).toMatchObject({ code: 'KOOGATE_SESSION_EXPIRED', login_url: '/_koogate/login?returnTo=%2Fapp%2Fpage%3Fx%3D1' });
    });

    test('a 401 carries CORS headers for an allowed origin only', async () => {
      const ok = await fetch(`${stack.url}/api/x`, { headers: { ...api, origin: 'https://spa.example' } });
      expect(ok.status).toBe(401);
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://spa.example');
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      const other = await fetch(`${stack.url}/api/x`, { headers: { ...api, origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('public paths', () => {
    test('are served without a session, spoofed identity stripped', async () => {
      const res = await fetch(`${stack.url}/public/app.js`, { headers: { 'x-forwarded-user': 'admin', 'x-forwarded-role': 'admin', 'x-koogate-assertion': 'forged' } });
      expect(res.status).toBe(200);
      expect(last().headers['x-forwarded-user']).toBeUndefined();
      expect(last().headers['x-forwarded-role']).toBeUndefined();
      expect(last().headers['x-koogate-assertion']).toBeUndefined();
    });

    test('carry the identity when a session exists, never the client copy', async () => {
      await client.request(`${stack.url}/public/x`, { headers: { ...api, 'x-forwarded-user': 'admin' } });
      expect(last().headers['x-forwarded-user']).toBe('zhangwei');
    });

    test.each(['/public/../api/secret', '/public/%2e%2e/api/secret', '/public/..%2Fapi/secret', '/public\\..\\api\\secret'])('%s cannot climb out of a public prefix', async (path) => {
      const before = last();
      const res = await new Client({ accept: 'application/json' }).request(`${stack.url}${path}`);
      // Resolved, each one leaves /public/ (or could be read so by a server): it needs a session, and the
      // app is not asked.
      expect(res.status).toBe(401);
      expect(last()).toBe(before);
    });
  });

  describe('private paths with a session', () => {
    test('identity headers replace client copies; koogate cookies stay behind', async () => {
      await client.request(`${stack.url}/api/me`, { headers: { ...api, 'X-Forwarded-User': 'admin', 'x-forwarded-tenant': 't-other', 'X-Forwarded-Email': 'a@b' } });
      const h = last().headers;
      expect(h['x-forwarded-user']).toBe('zhangwei');
      expect(h['x-forwarded-tenant']).toBe('t-acme');
      expect(h['x-forwarded-email']).toBe('zhangwei@acme.example');
      expect(decodeURIComponent(String(h['x-forwarded-name']))).toBe('张伟');
      expect(String(h.cookie ?? '')).not.toMatch(/koogate\./);
    });

    test('X-Forwarded-For/-Proto/-Host are koogate\'s own view when the client is not a trusted proxy', async () => {
      await client.request(`${stack.url}/api/me`, { headers: { ...api, 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } });
      const h = last().headers;
      expect(h['x-forwarded-for']).toBe('127.0.0.1');
      expect(h['x-forwarded-proto']).toBe('http');
      expect(h['x-forwarded-host']).toBe(new URL(stack.url).host);
    });

    test('hop-by-hop fields are dropped both ways (RFC 9110 §7.6.1)', async () => {
      const res = await client.request(`${stack.url}/hop`, { headers: { ...api, connection: 'x-private, keep-alive', 'x-private': 'secret', te: 'trailers', 'proxy-authorization': 'Basic x' } });
      const h = last().headers;
      expect(h['x-private']).toBeUndefined();
      expect(h.te).toBeUndefined();
      expect(h['proxy-authorization']).toBeUndefined();
      expect(res.headers.get('x-secret-hop')).toBeNull();
      expect(res.headers.get('x-end-to-end')).toBe('kept');
      expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    });

    test('the signed assertion verifies with the published key and names user, tenant and role', async () => {
      await client.request(`${stack.url}/api/me`, { headers: api });
      const jwt = String(last().headers['x-koogate-assertion']);
      const [h, p, s] = jwt.split('.') as [string, string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; kid: string };
      expect(header.alg).toBe('ES256');
      const jwks = (await (await fetch(`${stack.url}/_koogate/jwks.json`)).json()) as { keys: { kid: string }[] };
      const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
      const key = createPublicKey({ key: jwk as never, format: 'jwk' });
      expect(verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))).toBe(true);
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ user: 'zhangwei', tenant: 't-acme', role: 'admin', aud: new URL(upstream.url).origin, iss: new URL(stack.url).origin });
      expect(Number(claims.exp) - Number(claims.iat)).toBe(60);
      const tampered = Buffer.from(JSON.stringify({ ...claims, user: 'admin' })).toString('base64url');
      expect(verify('sha256', Buffer.from(`${h}.${tampered}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))).toBe(false);
    });
  });

  // Memory bounds of large bodies: proxy-memory.test.ts, which measures a koogate process of its own.
  describe('streaming', () => {
    test('server-sent events arrive as they are sent', async () => {
      const res = await fetch(`${stack.url}/events`, { headers: { cookie: client.cookieHeader(stack.url), accept: 'text/event-stream' } });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('tick 1')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      // The first event reached us while the stream was still open.
      expect(text).toContain('data: tick 1');
      expect(text).not.toContain('tick 3');
      await reader.cancel();
    });
  });

  describe('websockets', () => {
    const wsUrl = () => stack.url.replace('http:', 'ws:') + '/ws';

    test('an upgrade without a session is refused with 401 before switching', async () => {
      const status = await new Promise<number>((ok) => {
        const ws = new WebSocket(wsUrl());
        ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
        ws.on('open', () => ok(101));
        ws.on('error', () => undefined);
      });
      expect(status).toBe(401);
      expect(upstream.openSockets()).toBe(0);
    });

    test('echo with identity, then closed with the documented code when the session ends', async () => {
      const tab = new Client();
      await login(tab, stack.url, stack.sandbox, { userName: 'lina' });
      const ws = new WebSocket(wsUrl(), { headers: { cookie: tab.cookieHeader(stack.url) } });
      const messages: string[] = [];
      const closed = new Promise<number>((ok) => ws.on('close', (code) => ok(code)));
      await new Promise<void>((ok, fail) => {
        ws.on('message', (m) => {
          messages.push(m.toString());
          if (messages.length === 1) ws.send('ping through koogate');
          if (messages.length === 2) ok();
        });
        ws.on('error', fail);
      });
      expect(JSON.parse(messages[0]!)).toEqual({ hello: 'lina' });
      expect(messages[1]).toBe('ping through koogate');
      const out = await tab.request(`${stack.url}/_koogate/logout`, { method: 'POST' });
      expect(out.status).toBe(303);
      expect(await closed).toBe(WS_CLOSE_SESSION_ENDED);
    });
  });

  describe('when the app fails', () => {
    test('an app slower than the timeout gives 504', async () => {
      const res = await client.request(`${stack.url}/slow?ms=3000`, { headers: api });
      expect(res.status).toBe(504);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'KOOGATE_UPSTREAM_TIMEOUT' });
    });
  });
});

describe('the app down', () => {
  test('gives a clear 502 page to navigations and JSON to APIs', async () => {
    const upstream = await startTestUpstream();
    const stack = await syncedStack({ upstreamUrl: upstream.url });
    try {
      const client = new Client();
      await login(client, stack.url, stack.sandbox);
      await upstream.close();
      const page = await client.request(`${stack.url}/dashboard`);
      expect(page.status).toBe(502);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.text).toContain('KOOGATE_UPSTREAM_UNAVAILABLE');
      const json = await client.request(`${stack.url}/api/x`, { headers: api });
      expect(json.status).toBe(502);
      expect(JSON.parse(json.text)).toMatchObject({ code: 'KOOGATE_UPSTREAM_UNAVAILABLE' });
    } finally {
      await stack.close();
    }
  });
});
