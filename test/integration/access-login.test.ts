import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import type { Stack } from '../../src/sandbox/stack';
import { Client, type Hop } from '../support/browserless-client';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { api, syncedStack } from '../support/stack';
import { bodies, kitCalls } from '../support/kit';

/**
 * Access follows the directory (KOOGATE_ACCESS_POLICY): who authSync authorized and enabled may log in; a
 * refused login shows a page in the user's language and leaves no session behind.
 */
const last = (hops: Hop[]) => hops[hops.length - 1]!;

/** Extra sandbox users that the stack's authSync does not authorize (it authorizes the users present at start). */
function addUsers(stack: Stack) {
  const acme = stack.sandbox.tenants.find((t) => t.tenantId === 't-acme')!;
  acme.users.push(
    { userName: 'newbie', name: '新人', role: 'user' },
    { userName: 'offline', name: 'Off Line', role: 'user' },
    { userName: 'promoted', name: 'Pro Moted', role: 'user' },
  );
}

describe.each(['memory', 'redis'] as const)('login under the default policy "authorized" (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));
  const authorize = async (users: Record<string, unknown>[], flag = 1) =>
    expect((await kit.send('authSync', bodies.auth('t-acme', users, { flag }))).resultCode).toBe('000000');

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis?.url });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
    addUsers(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });

  test('every demo user was authorized by the stack’s authSync and logs in', async () => {
    const hops = await login(new Client(), stack.url, stack.sandbox, { userName: 'lina' });
    expect(last(hops).status).toBe(200);
    expect(last(hops).text).toContain('李娜');
  });

  test('a user authSync never authorized is refused with a Chinese page by default, and holds no session', async () => {
    const client = new Client();
    const grantsBefore = stack.sandbox.stats.authorizationCodeGrants;
    const hops = await login(client, stack.url, stack.sandbox, { userName: 'newbie' });
    const page = last(hops);
    expect(page.url).toContain('/_koogate/callback');
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('<html lang="zh-CN">');
    expect(page.text).toContain('您没有此应用的使用权限');
    expect(page.text).toContain('KOOGATE_USER_NOT_AUTHORIZED');
    expect(page.text).toContain('新人');
    // "Sign in with another account" ends the marketplace session first.
    const logoutHref = `${stack.sandbox.domainOf('t-acme')}/api/v1/logout?redirect_url=${encodeURIComponent(`${stack.url}/_koogate/logged-out`)}`;
    expect(page.text).toContain(`href="${logoutHref.replace(/&/g, '&amp;')}"`);
    expect(page.text).toContain('使用其他账号登录');
    // The marketplace did sign the user in (the code was exchanged), but koogate kept nothing.
    expect(stack.sandbox.stats.authorizationCodeGrants).toBe(grantsBefore + 1);
    expect(client.cookies(stack.url).has('koogate.sid')).toBe(false);
    expect((await client.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(401);
  });

  test('the refusal page is English for an English browser', async () => {
    const client = new Client({ accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'accept-language': 'en-GB,en;q=0.9,zh;q=0.5' });
    const page = last(await login(client, stack.url, stack.sandbox, { userName: 'newbie' }));
    expect(page.status).toBe(403);
    expect(page.text).toContain('<html lang="en">');
    expect(page.text).toContain('No access to this application');
    expect(page.text).toContain('Sign in with another account');
  });

  test('once authSync authorizes the user, the same login succeeds', async () => {
    await authorize([bodies.user('newbie', { name: '新人' })]);
    const client = new Client();
    const page = last(await login(client, stack.url, stack.sandbox, { userName: 'newbie' }));
    expect(page.status).toBe(200);
    expect(JSON.parse((await client.request(`${stack.url}/api/whoami`, { headers: api })).text)).toMatchObject({ user: 'newbie', tenant: 't-acme' });
  });

  test('a disabled user (enable "false") cannot log in; enabled again, they can', async () => {
    await authorize([bodies.user('offline', { enable: 'false' })]);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'offline' })).status).toBe(403);
    await authorize([bodies.user('offline', { enable: 'true' })], 2);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'offline' })).status).toBe(200);
  });

  test('a user whose authorization was cancelled (flag 3) or deleted (flag 0) cannot log in', async () => {
    await authorize([bodies.user('newbie')]);
    await authorize([{ userName: 'newbie' }], 3);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'newbie' })).status).toBe(403);
    await authorize([bodies.user('newbie')]);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'newbie' })).status).toBe(200);
    await authorize([{ userName: 'newbie' }], 0);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'newbie' })).status).toBe(403);
  });

  test('authorization is per tenant: a user authorized in t-acme is not authorized in t-globex', async () => {
    const globex = stack.sandbox.tenants.find((t) => t.tenantId === 't-globex')!;
    globex.users.push({ userName: 'newbie', name: 'Globex newbie' });
    await authorize([bodies.user('newbie')]);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'newbie' })).status).toBe(200);
    expect(last(await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-globex', userName: 'newbie' })).status).toBe(403);
  });

  test('the session carries the role authSync gave, over userinfo’s', async () => {
    await authorize([bodies.user('promoted', { role: 'admin' })]);
    const client = new Client();
    expect(last(await login(client, stack.url, stack.sandbox, { userName: 'promoted' })).status).toBe(200);
    const echo = JSON.parse((await client.request(`${stack.url}/api/echo`, { headers: api })).text) as { headers: Record<string, string> };
    expect(echo.headers['x-forwarded-role']).toBe('admin');
  });
});

describe('login under KOOGATE_ACCESS_POLICY=tenant', () => {
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));

  beforeAll(async () => {
    stack = await syncedStack({ env: { KOOGATE_ACCESS_POLICY: 'tenant' } });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
    addUsers(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('a user of a synced tenant that authSync never named may log in', async () => {
    const client = new Client();
    expect(last(await login(client, stack.url, stack.sandbox, { userName: 'newbie' })).status).toBe(200);
    expect(JSON.parse((await client.request(`${stack.url}/api/whoami`, { headers: api })).text)).toMatchObject({ user: 'newbie' });
  });

  test('a user authSync disabled or cancelled is still refused', async () => {
    expect((await kit.send('authSync', bodies.auth('t-acme', [bodies.user('offline', { enable: 'false' })]))).resultCode).toBe('000000');
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'offline' })).status).toBe(403);
    expect((await kit.send('authSync', bodies.auth('t-acme', [{ userName: 'newbie' }], { flag: 3 }))).resultCode).toBe('000000');
    expect(last(await login(new Client(), stack.url, stack.sandbox, { userName: 'newbie' })).status).toBe(403);
  });

  test('a tenant that was never synced is still refused', async () => {
    const hops = await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-globex', userName: 'wangfang' });
    expect(last(hops).status).toBe(200);
    expect((await kit.send('tenantSync', { instanceId: 'inst-t-globex', tenantId: 't-globex', flag: 0 })).resultCode).toBe('000000');
    const refused = last(await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-globex', userName: 'wangfang' }));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('KOOGATE_TENANT_UNKNOWN');
  });
});
