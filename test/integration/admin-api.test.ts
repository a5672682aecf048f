import { randomBytes } from 'node:crypto';
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminApi, badRequest, jsonBody } from '../../src/admin/api';
import { createLogger } from '../../src/observability/logger';
import type { Stack } from '../../src/sandbox/stack';
import { loginCookie } from '../support/login';
import { api, syncedStack } from '../support/stack';

/**
 * The admin API's guard and mounting: 404 without KOOGATE_ADMIN_TOKEN, 401 with a wrong token, routes of
 * any group behind it with the right one, and an audit line per action.
 */
const ADMIN = `admin-${randomBytes(24).toString('hex')}`;
const API = `api-${randomBytes(24).toString('hex')}`;

describe('admin API on koogate', () => {
  let on: Stack;
  let off: Stack;
  beforeAll(async () => {
    [on, off] = await Promise.all([syncedStack({ env: { KOOGATE_ADMIN_TOKEN: ADMIN, KOOGATE_API_TOKEN: API } }), syncedStack({ env: { KOOGATE_API_TOKEN: API } })]);
  });
  afterAll(async () => {
    await on?.close();
    await off?.close();
  });
  const get = (stack: Stack, path: string, token?: string) =>
    fetch(`${stack.koogate.url}${path}`, { headers: { accept: 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });

  test('off without KOOGATE_ADMIN_TOKEN: every admin path answers 404, whatever token is sent', async () => {
    for (const token of [undefined, ADMIN, API, 'x']) {
      for (const path of ['/_koogate/admin/', '/_koogate/admin/sessions?tenant=t-acme', '/_koogate/admin/nothing']) {
        const res = await get(off, path, token);
        expect(res.status).toBe(404);
        expect(res.headers.get('www-authenticate')).toBeNull();
        expect(await res.json()).toMatchObject({ code: 'KOOGATE_NOT_FOUND' });
      }
    }
  });

  test('on: no token, a wrong one, the directory API token, a prefix or a longer one get 401 with a Bearer challenge', async () => {
    for (const token of [undefined, 'wrong', API, ADMIN.slice(0, -1), `${ADMIN}x`, '', `${ADMIN} ${ADMIN}`]) {
      const res = await get(on, '/_koogate/admin/nothing', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="koogate"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.code).toBe('KOOGATE_API_UNAUTHORIZED');
      expect(JSON.stringify(body)).not.toContain(ADMIN);
    }
    // The admin token does not open the directory API either.
    expect((await get(on, '/_koogate/api/tenants', ADMIN)).status).toBe(401);
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${on.koogate.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', accept: 'application/json', ...headers }, body });

  test('the operations over HTTP: sessions listed and ended, dead letters, re-sealing', async () => {
    const cookie = await loginCookie(on.url, on.sandbox);
    const listed = (await (await get(on, '/_koogate/admin/sessions?tenant=t-acme', ADMIN)).json()) as { items: { userName: string; ref: string }[]; total: number };
    expect(listed).toMatchObject({ total: 1, items: [{ userName: 'zhangwei' }] });
    expect(JSON.stringify(listed)).not.toContain(decodeURIComponent(cookie.split('=')[1]!).slice(2, 20));
    expect(await (await get(on, '/_koogate/admin/webhook/dead-letters', ADMIN)).json()).toEqual({ items: [], total: 0 });
    expect(await (await post('/_koogate/admin/webhook/dead-letters/redeliver', '{"ids":["nope"]}')).json()).toEqual({ requeued: [], missing: ['nope'] });
    expect(await (await post('/_koogate/admin/keys/reseal', '')).json()).toEqual({
      credentials: { resealed: 0, current: 2, gone: 0, failed: 0 },
      tokens: { resealed: 0, current: 1, gone: 0, failed: 0 },
    });
    expect(await (await post('/_koogate/admin/sessions/end', '{"tenant":"t-acme","user":"zhangwei"}')).json()).toEqual({ ended: 1 });
    expect((await fetch(`${on.url}/me`, { headers: { ...api, cookie } })).status).toBe(401);
  });

  test('hostile parameters and bodies: 400 naming the problem, nothing ended', async () => {
    const cookie = await loginCookie(on.url, on.sandbox, { userName: 'lina' });
    const bad: [Promise<Response>, RegExp][] = [
      [get(on, '/_koogate/admin/sessions', ADMIN), /tenant must be given once/],
      [get(on, '/_koogate/admin/sessions?tenant=a&tenant=b', ADMIN), /tenant must be given once/],
      [get(on, '/_koogate/admin/sessions?tenant=t-acme%00%0d%0a', ADMIN), /visible characters/],
      [get(on, `/_koogate/admin/sessions?tenant=${'x'.repeat(300)}`, ADMIN), /visible characters/],
      [post('/_koogate/admin/sessions/end', '{}'), /tenant must be given once/],
      [post('/_koogate/admin/sessions/end', '{"tenant":["t-acme"]}'), /tenant must be/],
      [post('/_koogate/admin/sessions/end', '{"tenant":{"$gt":""}}'), /tenant must be/],
      [post('/_koogate/admin/sessions/end', '[]'), /JSON object/],
      [post('/_koogate/admin/sessions/end', '"t-acme"'), /not valid JSON/],
      [post('/_koogate/admin/sessions/end', '{"tenant":"t-acme"'), /not valid JSON/],
      [post('/_koogate/admin/sessions/end', 'tenant=t-acme', { 'content-type': 'application/x-www-form-urlencoded' }), /application\/json/],
      [post('/_koogate/admin/sessions/end', JSON.stringify({ tenant: 't-acme', pad: 'x'.repeat(70_000) })), /larger than 64kb/],
      [post('/_koogate/admin/webhook/dead-letters/redeliver', '{}'), /"ids"/],
      [post('/_koogate/admin/webhook/dead-letters/redeliver', '{"all":true,"ids":["a"]}'), /"ids"/],
      [post('/_koogate/admin/webhook/dead-letters/redeliver', '{"all":"yes"}'), /"ids"/],
      [post('/_koogate/admin/webhook/dead-letters/redeliver', JSON.stringify({ ids: Array.from({ length: 1001 }, (_, i) => `e${i}`) })), /"ids"/],
      [post('/_koogate/admin/webhook/dead-letters/redeliver', '{"ids":[1]}'), /each id/],
    ];
    for (const [answer, problem] of bad) {
      const res = await answer;
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('KOOGATE_BAD_REQUEST');
      expect(body.message).toMatch(problem);
    }
    expect((await fetch(`${on.url}/me`, { headers: { ...api, cookie } })).status).toBe(200);
  });

  test('a cross-site browser form cannot reach an admin action: refused as cross-site before any token check', async () => {
    const res = await fetch(`${on.koogate.url}/_koogate/admin/sessions/end`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' },
      body: '{"tenant":"t-acme"}',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('KOOGATE_FORBIDDEN');
  });

  test('on, with the right token: an unknown admin route is a JSON 404', async () => {
    const res = await get(on, '/_koogate/admin/nothing', ADMIN);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'KOOGATE_NOT_FOUND' });
  });
});

describe('admin route groups behind the guard', () => {
  let server: Server;
  let url: string;
  const lines: string[] = [];
  beforeAll(async () => {
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(
      '/_koogate/admin',
      adminApi({
        token: ADMIN,
        log: createLogger('info', (l) => lines.push(l)),
        routes: [
          (router, ctx) => {
            router.post('/things/end', jsonBody('1kb'), (req, res, next) => {
              const names = (req.body as { names?: unknown } | undefined)?.names;
              if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return next(badRequest('names must be a list of strings'));
              ctx.audit(req, 'things.end', names.length, { names: names.join(',') });
              res.json({ ended: names.length });
            });
          },
        ],
      }),
    );
    server = createServer(app);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_koogate/admin`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...headers }, body });

  test('a mounted route runs with the right token and writes one audit line: who, what, how many', async () => {
    lines.length = 0;
    const res = await post('/things/end', JSON.stringify({ names: ['a', 'b'] }), { 'x-koogate-operator': 'ops.alice', 'x-forwarded-for': '203.0.113.9' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ended: 2 });
    const audit = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true);
    expect(audit).toEqual([expect.objectContaining({ msg: 'admin action', action: 'things.end', count: 2, actor: 'ops.alice@http:203.0.113.9', names: 'a,b' })]);
    expect(lines.join('\n')).not.toContain(ADMIN);
  });

  test('the route is never reached without the token: no audit line', async () => {
    lines.length = 0;
    const res = await fetch(`${url}/things/end`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"names":["a"]}' });
    expect(res.status).toBe(401);
    expect(lines.filter((l) => l.includes('"audit":true'))).toEqual([]);
  });

  test('hostile bodies: bad JSON, another type, too large, deeply nested, wrong shape — 400 naming the problem, nothing done', async () => {
    lines.length = 0;
    const cases: [string, Record<string, string>, string][] = [
      ['{"names":', {}, 'not valid JSON'],
      ['names=a', { 'content-type': 'application/x-www-form-urlencoded' }, 'application/json'],
      [JSON.stringify({ names: ['x'.repeat(2000)] }), {}, 'larger than 1kb'],
      ['['.repeat(400) + ']'.repeat(400), {}, 'names must be'],
      ['{"names":[1]}', {}, 'names must be'],
      ['{"names":"a\\u0000\\r\\n"}', {}, 'names must be'],
    ];
    for (const [body, headers, problem] of cases) {
      const res = await post('/things/end', body, headers);
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { code: string; message: string };
      expect(answer.code).toBe('KOOGATE_BAD_REQUEST');
      expect(answer.message).toContain(problem);
    }
    expect(lines.filter((l) => l.includes('"audit":true'))).toEqual([]);
  });

  test('an operator name with control characters or too long is not recorded as given', async () => {
    lines.length = 0;
    await post('/things/end', '{"names":[]}', { 'x-koogate-operator': 'x'.repeat(65) });
    await post('/things/end', '{"names":[]}', { 'x-koogate-operator': 'a b' });
    const actors = lines.map((l) => JSON.parse(l) as { actor?: string }).map((l) => l.actor);
    expect(actors).toEqual(['http:127.0.0.1', 'http:127.0.0.1']);
  });
});
