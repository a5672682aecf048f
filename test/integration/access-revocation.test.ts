import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import type { Sandbox } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID, type Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { startReplicaPair, type Replica, type ReplicaPair } from '../support/replica';
import { api, syncedStack } from '../support/stack';
import { bodies, kitCalls } from '../support/kit';

/**
 * Revocation end to end over real HTTP on Redis: when kit sync takes access away (authSync cancel, delete
 * or disable; tenantSync delete; applicationSync delete), the user's very next request after the kit
 * answer is treated as logged out.
 */
describe('revocation by kit sync (one koogate, Redis)', () => {
  let redis: RedisServer;
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));
  const ok = async (p: ReturnType<typeof kit.send>) => expect((await p).resultCode).toBe('000000');

  /** A logged-in browser, checked to be in. */
  async function loggedIn(userName: string, tenantId = 't-acme'): Promise<Client> {
    const client = new Client();
    const hops = await login(client, stack.url, stack.sandbox, { tenantId, userName });
    expect(hops[hops.length - 1]!.status).toBe(200);
    expect(await status(client)).toBe(200);
    return client;
  }
  const status = async (client: Client) => (await client.request(`${stack.url}/api/whoami`, { headers: api })).status;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis.url });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });
  afterEach(async () => {
    // Every test starts from the synced demo: tenants, credentials and all users authorized.
    await stack.syncTenants();
  });

  test('authSync cancel (flag 3): the next request is logged out, the page goes to login; others stay in', async () => {
    const lina = await loggedIn('lina');
    const linaTwice = await loggedIn('lina');
    const bob = await loggedIn('bob');
    await ok(kit.send('authSync', bodies.auth('t-acme', [{ userName: 'lina' }], { flag: 3 })));
    const res = await lina.request(`${stack.url}/api/whoami`, { headers: api });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'KOOGATE_SESSION_EXPIRED' });
    expect(await status(linaTwice)).toBe(401);
    const page = await lina.request(`${stack.url}/me`);
    expect(page.status).toBe(302);
    expect(page.location).toBe(`${stack.url}/_koogate/login?returnTo=%2Fme`);
    expect(await status(bob)).toBe(200);
    // And cannot come back in.
    const again = await login(new Client(), stack.url, stack.sandbox, { userName: 'lina' });
    expect(again[again.length - 1]!.status).toBe(403);
  });

  test('authSync delete (flag 0) ends the user’s sessions', async () => {
    const bob = await loggedIn('bob');
    await ok(kit.send('authSync', bodies.auth('t-acme', [{ userName: 'bob' }], { flag: 0 })));
    expect(await status(bob)).toBe(401);
  });

  test('authSync disable (enable "false", flag 2) ends the user’s sessions', async () => {
    const bob = await loggedIn('bob');
    await ok(kit.send('authSync', bodies.auth('t-acme', [bodies.user('bob', { enable: 'false' })], { flag: 2 })));
    expect(await status(bob)).toBe(401);
  });

  test('a role change (modify) keeps the session and reaches X-Forwarded-Role on the next request', async () => {
    const bob = await loggedIn('bob');
    const role = async () => (JSON.parse((await bob.request(`${stack.url}/api/whoami`, { headers: api })).text) as { role?: string }).role;
    expect(await role()).toBe('user');
    await ok(kit.send('authSync', bodies.auth('t-acme', [bodies.user('bob', { role: 'admin' })], { flag: 2 })));
    expect(await status(bob)).toBe(200);
    expect(await role()).toBe('admin');
    await ok(kit.send('authSync', bodies.auth('t-acme', [bodies.user('bob', { role: 'user' })], { flag: 2 })));
    expect(await role()).toBe('user');
  });

  test('V1 authSync cancel revokes as V2 does', async () => {
    const lina = await loggedIn('lina');
    await ok(kit.send('authSync', bodies.auth('t-acme', [{ userName: 'lina' }], { flag: 3 }), { generation: 'v1' }));
    expect(await status(lina)).toBe(401);
  });

  test('tenantSync delete ends every session of the tenant, and only of that tenant', async () => {
    const zhang = await loggedIn('zhangwei');
    const lina = await loggedIn('lina');
    const wang = await loggedIn('wangfang', 't-globex');
    await ok(kit.send('tenantSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', flag: 0 }));
    expect(await status(zhang)).toBe(401);
    expect(await status(lina)).toBe(401);
    expect(await status(wang)).toBe(200);
    expect(await stack.koogate.directory.getUser('t-acme', 'zhangwei')).toBeNull();
  });

  test('applicationSync delete ends every session of the tenant', async () => {
    const zhang = await loggedIn('zhangwei');
    await ok(kit.send('applicationSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: DEMO_APP_ID, flag: 0 }));
    expect(await status(zhang)).toBe(401);
  });

  test('a retried cancel still ends the sessions a failed first attempt left (the record already says cancelled)', async () => {
    const bob = await loggedIn('bob');
    // A first attempt that stored the cancel but never reached the sessions: written straight to the directory.
    await stack.koogate.directory.applyAuthSync({ instanceId: 'inst-t-acme', tenantId: 't-acme', appId: DEMO_APP_ID, flag: 3, testFlag: 1, users: [{ userName: 'bob' }] });
    expect(await status(bob)).toBe(200);
    const before = await stack.koogate.store.get('dir:user:t-acme:bob');
    await ok(kit.send('authSync', bodies.auth('t-acme', [{ userName: 'bob' }], { flag: 3 })));
    expect(await stack.koogate.store.get('dir:user:t-acme:bob')).toBe(before);
    expect(await status(bob)).toBe(401);
  });
});

describe('revocation across two koogate processes on one Redis', () => {
  let pair: ReplicaPair;
  let sandbox: Sandbox;
  let a: Replica;
  let b: Replica;
  let publicKey: KeyObject;
  const kitAtB = kitCalls(() => ({ baseUrl: b.url, accessKey: pair.secrets.accessKey, publicKey }));

  beforeAll(async () => {
    pair = await startReplicaPair();
    ({ sandbox, a, b } = pair);
    publicKey = loadPublicKey(pair.secrets.publicKeyPem);
  }, 60_000);
  afterAll(() => pair?.stop());

  test('a user logged in at A and using both loses access at both right after B applies the cancel', async () => {
    const client = new Client();
    expect((await login(client, a.url, sandbox, { returnTo: '/', userName: 'lina', stopAtCallback: true })).at(-1)!.status).toBe(302);
    const cookie = client.cookieHeader(a.url);
    const at = async (url: string) => (await fetch(`${url}/api/whoami`, { headers: { ...api, cookie } })).status;
    // Both replicas know the session (and may hold it in their short-lived caches).
    expect([await at(a.url), await at(b.url), await at(a.url), await at(b.url)]).toEqual([200, 200, 200, 200]);

    const roleAt = async (url: string) => ((await (await fetch(`${url}/api/whoami`, { headers: { ...api, cookie } })).json()) as { role?: string }).role;
    expect([await roleAt(a.url), await roleAt(b.url)]).toEqual(['user', 'user']);
    const promoted = await kitAtB.send('authSync', bodies.auth('t-acme', [bodies.user('lina', { role: 'admin' })], { flag: 2 }));
    expect(promoted.resultCode).toBe('000000');
    expect([await roleAt(a.url), await roleAt(b.url)]).toEqual(['admin', 'admin']);

    const answer = await kitAtB.send('authSync', bodies.auth('t-acme', [{ userName: 'lina' }], { flag: 3 }));
    expect(answer.resultCode).toBe('000000');
    expect([await at(a.url), await at(b.url)]).toEqual([401, 401]);
  });
});
