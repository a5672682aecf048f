import { randomBytes, type KeyObject } from 'node:crypto';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import type { Stack } from '../../src/sandbox/stack';
import { startRedis, type RedisServer } from '../support/redis';
import { syncedStack } from '../support/stack';
import { bodies, kitCalls } from '../support/kit';

/**
 * The read-only directory API under /_koogate/api/: what kit sync stored, for the ISV app, behind a bearer
 * token; paginated by cursor or offset.
 */
const TOKEN = `api-${randomBytes(24).toString('hex')}`;

interface PageBody<T = Record<string, unknown>> {
  items: T[];
  total: number;
  limit: number;
  next: string | null;
}

describe.each(['memory', 'redis'] as const)('directory API (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));
  const get = (path: string, token: string | null = TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${stack.koogate.url}${path}`, { headers: { accept: 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers } });
  const json = async <T = PageBody>(path: string): Promise<T> => {
    const res = await get(path);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis?.url, env: { KOOGATE_API_TOKEN: TOKEN } });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
    const users = Array.from({ length: 7 }, (_, i) => bodies.user(`p${i}`, { enable: i === 3 ? 'false' : 'true' }));
    expect((await kit.send('authSync', bodies.auth('t-globex', users))).resultCode).toBe('000000');
    expect((await kit.send('authSync', bodies.auth('t-globex', [{ userName: 'p5' }], { flag: 3 }))).resultCode).toBe('000000');
    const orgs = [
      { orgCode: 'hq', orgName: '总部', parentCode: '' },
      { orgCode: 'rd', orgName: '研发部', parentCode: 'hq' },
      { orgCode: 'rd-fe', orgName: '前端组', parentCode: 'rd' },
      { orgCode: 'sales', orgName: '销售部', parentCode: 'hq' },
      { orgCode: 'branch', orgName: '分公司', parentCode: '' },
      { orgCode: 'orphan', orgName: '待定', parentCode: 'not-synced-yet' },
    ];
    expect((await kit.send('allOrgSync', bodies.orgs('t-globex', orgs))).resultCode).toBe('000000');
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });

  test('without the token: 401 JSON with a Bearer challenge; a wrong or malformed one likewise', async () => {
    for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
      const res = await get('/_koogate/api/tenants', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="koogate"');
      expect(await res.json()).toEqual({ error: 'api_unauthorized', code: 'KOOGATE_API_UNAUTHORIZED', message: expect.any(String), request_id: expect.any(String) });
    }
    const basic = await get('/_koogate/api/tenants', null, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` });
    expect(basic.status).toBe(401);
  });

  test('tenants: every synced tenant, whether it has credentials, never a secret; no cookie is set', async () => {
    const res = await get('/_koogate/api/tenants');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('set-cookie')).toBeNull();
    const text = await res.text();
    expect(text).not.toContain('sandbox-secret');
    expect(text).not.toMatch(/clientSecret|clientId/);
    const body = JSON.parse(text) as PageBody;
    expect(body).toMatchObject({ total: 2, limit: 100, next: null });
    expect(body.items).toEqual([
      expect.objectContaining({ tenantId: 't-acme', tenantCode: 'acme', name: 'Acme 科技有限公司', domainName: stack.sandbox.domainOf('t-acme'), hasCredentials: true }),
      expect.objectContaining({ tenantId: 't-globex', hasCredentials: true }),
    ]);
  });

  test('users of a tenant, with what decides access', async () => {
    const body = await json('/_koogate/api/tenants/t-acme/users');
    expect(body.items.map((u) => u.userName)).toEqual(['bob', 'lina', 'zhangwei']);
    expect(body.items[2]).toEqual(expect.objectContaining({ userName: 'zhangwei', name: '张伟', role: 'admin', enabled: true, authorized: true, allowed: true, orgCode: 'acme-rd' }));
    const globex = await json('/_koogate/api/tenants/t-globex/users?limit=500');
    const byName = new Map(globex.items.map((u) => [u.userName, u]));
    expect(byName.get('p3')).toMatchObject({ enabled: false, authorized: true, allowed: false });
    expect(byName.get('p5')).toMatchObject({ enabled: true, authorized: false, allowed: false });
  });

  test('cursor pages walk every user exactly once, following `next`', async () => {
    const seen: string[] = [];
    let path: string | null = '/_koogate/api/tenants/t-globex/users?limit=3';
    let pages = 0;
    while (path) {
      const body: PageBody = await json(path);
      expect(body.total).toBe(9);
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((u) => String(u.userName)));
      path = body.next;
      if (path) expect(path).toMatch(/^\/_koogate\/api\/tenants\/t-globex\/users\?limit=3&cursor=[A-Za-z0-9_-]+$/);
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'wangfang', 'john'].sort());
  });

  test('offset pages too, and a cursor stays right when users are added between pages', async () => {
    const first = await json('/_koogate/api/tenants/t-globex/users?limit=4&offset=0');
    expect(first.next).toBe('/_koogate/api/tenants/t-globex/users?limit=4&offset=4');
    const second = await json(first.next!);
    expect(second.items.map((u) => u.userName)).toEqual(['p3', 'p4', 'p5', 'p6']);

    const byCursor = await json('/_koogate/api/tenants/t-globex/users?limit=2');
    expect(byCursor.items.map((u) => u.userName)).toEqual(['john', 'p0']);
    expect((await kit.send('authSync', bodies.auth('t-globex', [bodies.user('a-first')]))).resultCode).toBe('000000');
    const after = await json(byCursor.next!);
    expect(after.items.map((u) => u.userName)).toEqual(['p1', 'p2']);
  });

  test('departments: flat, and as a tree paged over its top level', async () => {
    const flat = await json('/_koogate/api/tenants/t-globex/departments');
    expect(flat.items.map((d) => d.orgCode)).toEqual(['branch', 'hq', 'orphan', 'rd', 'rd-fe', 'sales']);
    expect(flat.items[1]).toEqual({ orgCode: 'hq', orgName: '总部', parentCode: '', updatedAt: expect.any(String) });

    const tree = await json('/_koogate/api/tenants/t-globex/departments?tree=1&limit=2');
    expect(tree.total).toBe(3);
    expect(tree.items).toEqual([
      { orgCode: 'branch', orgName: '分公司', parentCode: '', children: [] },
      {
        orgCode: 'hq',
        orgName: '总部',
        parentCode: '',
        children: [
          { orgCode: 'rd', orgName: '研发部', parentCode: 'hq', children: [{ orgCode: 'rd-fe', orgName: '前端组', parentCode: 'rd', children: [] }] },
          { orgCode: 'sales', orgName: '销售部', parentCode: 'hq', children: [] },
        ],
      },
    ]);
    expect(tree.next).toMatch(/^\/_koogate\/api\/tenants\/t-globex\/departments\?tree=1&limit=2&cursor=/);
    const rest = await json(tree.next!);
    expect(rest).toMatchObject({ items: [{ orgCode: 'orphan', parentCode: 'not-synced-yet', children: [] }], next: null });
  });

  test('an unknown tenant is 404; bad parameters are 400 with the reason', async () => {
    for (const path of ['/_koogate/api/tenants/t-nope/users', '/_koogate/api/tenants/t-nope/departments', '/_koogate/api/nothing-here']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'KOOGATE_NOT_FOUND' });
    }
    for (const [query, reason] of [
      ['limit=0', /limit/],
      ['limit=501', /limit/],
      ['limit=abc', /limit/],
      ['offset=-1', /offset/],
      ['cursor=!!', /cursor/],
      ['cursor=YWJj', /cursor/],
      ['cursor=a2Fi&offset=1', /not both/],
      ['limit=1&limit=2', /once/],
    ] as const) {
      const res = await get(`/_koogate/api/tenants/t-acme/users?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('KOOGATE_BAD_REQUEST');
      expect(body.message).toMatch(reason);
    }
  });

  test('the API is read-only: other methods are not routes', async () => {
    const res = await fetch(`${stack.koogate.url}/_koogate/api/tenants`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
  });
});

describe('directory API without KOOGATE_API_TOKEN', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await syncedStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('answers 404 JSON to everyone, token or not', async () => {
    for (const headers of [{}, { authorization: 'Bearer anything-at-all' }] as Record<string, string>[]) {
      const res = await fetch(`${stack.koogate.url}/_koogate/api/tenants`, { headers: { accept: 'application/json', ...headers } });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'KOOGATE_NOT_FOUND' });
    }
  });
});
