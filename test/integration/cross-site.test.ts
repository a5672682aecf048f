import { request } from 'node:http';
import WebSocket from 'ws';
import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { loginCookie } from '../support/login';
import { getHead, rawRequest } from '../support/raw-http';
import { api, syncedStack } from '../support/stack';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** Sends a request with header names exactly as given (underscores and all) and resolves with the status. */
function rawNames(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Opens a websocket with the given Origin (or none); resolves with 'open' or the refusal's status. */
function upgrade(url: string, cookie: string | undefined, origin: string | undefined): Promise<number | 'open'> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url, { headers: { ...(cookie ? { cookie } : {}) }, ...(origin !== undefined ? { origin } : {}) });
    ws.once('open', () => {
      ws.close();
      ok('open');
    });
    ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
    ws.once('error', (e) => fail(e));
  });
}

/** Cross-site requests, websocket origins and header hygiene, against a real app behind koogate. */
describe('cross-site protection and header hygiene', () => {
  let upstream: TestUpstream;
  let stack: Stack;
  let own: string;
  const last = () => upstream.seen[upstream.seen.length - 1]!;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    stack = await syncedStack({ upstreamUrl: upstream.url, env: { KOOGATE_WS_ORIGINS: 'https://spa.example,http://localhost:3000', KOOGATE_PUBLIC_PATHS: '/public/*' } });
    own = new URL(stack.url).origin;
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  describe('state-changing koogate routes refuse cross-site requests', () => {
    const crossSite: [string, Record<string, string>][] = [
      ['Sec-Fetch-Site: cross-site, no Origin', { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site: same-site (a sibling host)', { 'sec-fetch-site': 'same-site' }],
      ['Origin: null', { origin: 'null' }],
      ['Origin: null with Sec-Fetch-Site: same-origin', { origin: 'null', 'sec-fetch-site': 'same-origin' }],
      ['another Origin', { origin: 'https://evil.example' }],
      ['an Origin that only starts like koogate\'s', { origin: 'OWN.evil.example' }],
      ['a cross-site Sec-Fetch-Site with koogate\'s Origin', { origin: 'OWN', 'sec-fetch-site': 'cross-site' }],
    ];
    /** The table is built before koogate listens: OWN stands for its origin. */
    const withOwn = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.replace('OWN', own)]));

    test.each(crossSite)('logout with %s: 403, the session lives on', async (_what, headers) => {
      const client = new Client();
      const cookie = await loginCookie(stack.url, stack.sandbox);
      const res = await client.request(`${stack.url}/_koogate/logout`, { method: 'POST', headers: { ...withOwn(headers), cookie } });
      expect(res.status).toBe(403);
      expect(res.text).toContain('KOOGATE_FORBIDDEN');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const still = await fetch(`${stack.url}/api/me`, { headers: { ...api, cookie } });
      expect(still.status).toBe(200);
    });

    test.each(crossSite)('any other state-changing method on /_koogate with %s: 403', async (_what, headers) => {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await new Client().request(`${stack.url}/_koogate/login`, { method, headers: withOwn(headers) });
        expect(res.status).toBe(403);
      }
    });

    test.each([
      ['same-origin', { origin: '', 'sec-fetch-site': 'same-origin' }],
      ['a user-initiated navigation (Sec-Fetch-Site: none)', { 'sec-fetch-site': 'none' }],
      ['no browser headers at all (a non-browser client)', {}],
    ])('logout from %s ends the session', async (_what, h: Record<string, string>) => {
      const cookie = await loginCookie(stack.url, stack.sandbox);
      const headers: Record<string, string> = { ...h, cookie };
      if (headers.origin === '') headers.origin = own;
      const res = await new Client().request(`${stack.url}/_koogate/logout`, { method: 'POST', headers });
      expect(res.status).toBe(303);
      const after = await fetch(`${stack.url}/api/me`, { headers: { ...api, cookie } });
      expect(after.status).toBe(401);
    });
  });

  describe('websocket upgrades check Origin before anything is upgraded', () => {
    const ws = () => `${stack.url.replace('http', 'ws')}/ws`;

    test.each([
      ['koogate\'s own origin', () => own],
      ['an origin of KOOGATE_WS_ORIGINS', () => 'https://spa.example'],
      ['the second one', () => 'http://localhost:3000'],
      ['no Origin (no browser)', () => undefined],
    ])('%s: upgraded', async (_what, origin) => {
      const cookie = await loginCookie(stack.url, stack.sandbox);
      expect(await upgrade(ws(), cookie, origin())).toBe('open');
    });

    test.each(['https://evil.example', 'null', 'https://spa.example.evil.example', 'https://SPA.example', 'http://localhost:3000/', 'http://localhost:3001'])('Origin %s: 403, the app never sees it', async (origin) => {
      const cookie = await loginCookie(stack.url, stack.sandbox);
      const seen = upstream.seen.length;
      expect(await upgrade(ws(), cookie, origin)).toBe(403);
      expect(await upgrade(`${stack.url.replace('http', 'ws')}/public/ws`, undefined, origin)).toBe(403);
      expect(upstream.seen.length).toBe(seen);
    });
  });

  describe('headers the app must never take from a client', () => {
    test('look-alikes with _ for - are dropped, the real identity headers are koogate\'s', async () => {
      const cookie = await loginCookie(stack.url, stack.sandbox);
      const names = ['X_Forwarded_User', 'X-Forwarded_Tenant', 'x_forwarded_email', 'X_FORWARDED_NAME', 'x-forwarded_role', 'X_Koogate_Assertion', 'x-koogate_anything', 'X_Forwarded_For', 'X_Forwarded_Host', 'x_forwarded_proto', 'X_Real_IP', 'X-Koogate-Whatever'];
      const status = await rawNames(`${stack.url}/api/me`, { accept: 'application/json', cookie, ...Object.fromEntries(names.map((n) => [n, 'admin'])) });
      expect(status).toBe(200);
      const h = last().headers;
      for (const k of Object.keys(h)) expect(k.includes('_')).toBe(false);
      expect(h['x-forwarded-user']).toBe('zhangwei');
      expect(h['x-koogate-whatever']).toBeUndefined();
    });

    test('a client\'s Forwarded, X-Forwarded-Port/-Prefix and X-Real-IP are replaced or dropped when it is no trusted proxy', async () => {
      const res = await fetch(`${stack.url}/public/x`, { headers: { forwarded: 'for=6.6.6.6;host=evil.example;proto=https', 'x-forwarded-port': '443', 'x-forwarded-prefix': '/admin', 'x-real-ip': '6.6.6.6' } });
      expect(res.status).toBe(200);
      const h = last().headers;
      expect(h.forwarded).toBe(`for=127.0.0.1;host="${new URL(stack.url).host}";proto=http`);
      expect(h['x-forwarded-port']).toBeUndefined();
      expect(h['x-forwarded-prefix']).toBeUndefined();
      expect(h['x-real-ip']).toBeUndefined();
    });

    test('koogate\'s own answers carry nosniff: redirects, 401s, 400s and pages', async () => {
      const answers = [
        await rawRequest(stack.url, getHead(stack.url, '/app', { Accept: 'text/html' })),
        await rawRequest(stack.url, getHead(stack.url, '/app', { Accept: 'application/json' })),
        await rawRequest(stack.url, getHead(stack.url, '*', {})),
        await rawRequest(stack.url, getHead(stack.url, '/_koogate/healthz', {})),
        await rawRequest(stack.url, getHead(stack.url, '/_koogate/nothing-here', {})),
      ];
      for (const a of answers) expect(a.headers['x-content-type-options']).toBe('nosniff');
    });
  });
});
