import { Sealer } from '../../src/crypto/sealed';
import { Directory } from '../../src/directory/directory';
import { MarketplaceOAuth } from '../../src/marketplace/oauth';
import { silentLogger } from '../../src/observability/logger';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { MemoryStore } from '../../src/store/memory';
import { GrantStore, type Grant } from '../../src/tokens/grant-store';
import { TokenRenewal, type Freshness } from '../../src/tokens/renewal';

/** The grant of a fresh outcome; fails the test on an ended one. */
function grantOf(f: Freshness): Grant {
  if (f.kind !== 'fresh') throw new Error(`expected a fresh grant, the session ended: ${f.reason}`);
  return f.grant;
}

/**
 * Token renewal against the real stand-in marketplace over HTTP, on a clock the test moves, so expiry,
 * back-off and lifetimes are exercised without waiting.
 */
describe('token renewal', () => {
  let sandbox: Sandbox;
  let clock: number;
  const now = () => clock;
  const APP = 'app-renewal';
  const SKEW = 120_000;
  const secrets = ['renewal-test-secret-0123456789abcdef'];

  beforeAll(async () => {
    sandbox = await startSandbox({});
    sandbox.registerApp({ appId: APP, callbackUrl: 'http://127.0.0.1:1/_koogate/callback' });
  });
  afterAll(() => sandbox.close());

  async function setup(opts: { sealer?: Sealer } = {}) {
    clock = Date.now();
    sandbox.resetStats();
    sandbox.behaviour.expiresIn = 7200;
    sandbox.behaviour.tokenDelayMs = 0;
    delete sandbox.behaviour.failToken;
    const store = new MemoryStore(now);
    const sealer = opts.sealer ?? Sealer.fromSecrets(secrets);
    const directory = new Directory(store, sealer);
    const t = sandbox.tenants[0]!;
    await directory.applyTenant({ instanceId: 'i', tenantId: t.tenantId, tenantCode: t.tenantCode, name: t.name, domainName: sandbox.domainOf(t.tenantId), flag: 1, testFlag: 1 });
    await directory.applyAppCredential({ instanceId: 'i', tenantId: t.tenantId, appId: APP, clientId: t.clientId, clientSecret: t.clientSecret, flag: 1, testFlag: 1 });
    // The marketplace's own clock is real; ours is the test's.
    const oauth = new MarketplaceOAuth({ timeoutMs: 1000, allowHttp: true, log: silentLogger, now });
    const grants = new GrantStore(store, sealer, { absoluteMs: 30 * 86_400_000, refreshTokenMs: 30 * 86_400_000, now });
    const renewal = new TokenRenewal(grants, directory, oauth, store, { appId: APP, skewMs: SKEW, lockLeaseMs: 5000, waitMs: 8000, log: silentLogger, now });
    const tenant = (await directory.getTenant(t.tenantId))!;
    const cred = (await directory.getAppCredential(t.tenantId, APP))!;
    const tokens = await oauth.exchangeCode(tenant, cred, sandbox.issueCode(APP, t.tenantId, t.users[0]!.userName));
    const grant = await grants.create(t.tenantId, tokens);
    sandbox.resetStats();
    return { store, grants, renewal, grant, sealer };
  }

  test('a token that is not due is used as it is', async () => {
    const { renewal, grant } = await setup();
    expect(grantOf(await renewal.fresh(grant.id)).accessToken).toBe(grant.accessToken);
    expect(sandbox.stats.tokenRequests).toBe(0);
  });

  test('a due token is renewed once, honouring expires_in, and the returned refresh token is kept', async () => {
    const { renewal, grant, grants } = await setup();
    sandbox.behaviour.expiresIn = 3600;
    clock = grant.expiresAt - SKEW + 1;
    const renewed = grantOf(await renewal.fresh(grant.id));
    expect(renewed.version).toBe(2);
    expect(renewed.accessToken).not.toBe(grant.accessToken);
    expect(renewed.refreshToken).not.toBe(grant.refreshToken);
    expect(renewed.expiresAt).toBe(clock + 3600_000);
    expect((await grants.load(grant.id))!.grant.refreshToken).toBe(renewed.refreshToken);
    expect(sandbox.stats.refreshGrants).toBe(1);
  });

  test('fifty concurrent requests in one process share one renewal', async () => {
    const { renewal, grant } = await setup();
    clock = grant.expiresAt - 1000;
    const all = (await Promise.all(Array.from({ length: 50 }, () => renewal.fresh(grant.id)))).map(grantOf);
    expect(new Set(all.map((g) => g.accessToken)).size).toBe(1);
    expect(sandbox.stats.refreshGrants).toBe(1);
  });

  test('a stale write can never replace newer tokens', async () => {
    const { renewal, grant, grants } = await setup();
    const before = (await grants.load(grant.id))!;
    clock = grant.expiresAt - 1000;
    const renewed = grantOf(await renewal.fresh(grant.id));
    const stale = await grants.replace(before, { accessToken: 'old', refreshToken: 'old', expiresAt: clock + 10 });
    expect(stale).toBeNull();
    expect((await grants.load(grant.id))!.grant.accessToken).toBe(renewed.accessToken);
  });

  test('marketplace down: the valid token keeps serving, renewal backs off, then 503 once it has expired', async () => {
    const { renewal, grant } = await setup();
    sandbox.behaviour.failToken = 'reset';
    clock = grant.expiresAt - 60_000; // due, still valid
    expect(grantOf(await renewal.fresh(grant.id)).accessToken).toBe(grant.accessToken);
    expect(sandbox.stats.tokenRequests).toBe(1);
    // Inside the back-off window nobody asks the marketplace again.
    expect(grantOf(await renewal.fresh(grant.id)).accessToken).toBe(grant.accessToken);
    expect(sandbox.stats.tokenRequests).toBe(1);
    clock += 1500; // past the first back-off (1 s): one more try, which fails too; back-off doubles
    await renewal.fresh(grant.id);
    expect(sandbox.stats.tokenRequests).toBe(2);
    clock += 1500; // inside the 2 s back-off
    await renewal.fresh(grant.id);
    expect(sandbox.stats.tokenRequests).toBe(2);
    clock = grant.expiresAt + 10_000; // expired, back-off over
    await expect(renewal.fresh(grant.id)).rejects.toMatchObject({ code: 'KOOGATE_MARKETPLACE_UNAVAILABLE' });
    delete sandbox.behaviour.failToken;
    clock += 120_000;
    const renewed = grantOf(await renewal.fresh(grant.id));
    expect(renewed.accessToken).not.toBe(grant.accessToken);
  });

  test('a dead refresh token ends the session and removes the grant', async () => {
    const { renewal, grant, grants } = await setup();
    sandbox.revokeRefreshTokens();
    clock = grant.expiresAt - 1000;
    // An expected outcome, returned rather than thrown.
    expect(await renewal.fresh(grant.id)).toEqual({ kind: 'ended', reason: 'refresh refused' });
    expect(await grants.load(grant.id)).toBeNull();
  });

  test('invalid_client on renewal ends the session too', async () => {
    const { renewal, grant } = await setup();
    sandbox.behaviour.failToken = { status: 401, body: { error: 'invalid_client' } };
    clock = grant.expiresAt - 1000;
    expect(await renewal.fresh(grant.id)).toEqual({ kind: 'ended', reason: 'refresh refused' });
  });

  test('tokens are encrypted at rest, and survive a key rotation', async () => {
    const { store, grant } = await setup();
    const raw = (await store.get(`grant:${grant.id}`))!;
    expect(raw).not.toContain(grant.accessToken);
    expect(raw).not.toContain(grant.refreshToken!);
    // A new key first: it encrypts what is written from now on; the old one still opens what exists.
    const rotated = Sealer.fromSecrets(['renewal-test-new-secret-fedcba9876543210', ...secrets]);
    const grants2 = new GrantStore(store, rotated, { absoluteMs: 30 * 86_400_000, refreshTokenMs: 30 * 86_400_000, now });
    const loaded = (await grants2.load(grant.id))!;
    expect(loaded.grant.accessToken).toBe(grant.accessToken);
    await grants2.replace(loaded, { accessToken: 'next-token', refreshToken: 'next-refresh', expiresAt: clock + 1000 });
    const raw2 = (await store.get(`grant:${grant.id}`))!;
    expect(raw2).toContain(rotated.currentKeyId);
    // Without the new key, what it sealed cannot be opened.
    await expect(new GrantStore(store, Sealer.fromSecrets(secrets), { absoluteMs: 1, refreshTokenMs: 1 }).load(grant.id)).rejects.toThrow();
  });

  test('the grant lives as long as its refresh token, capped by the absolute lifetime', async () => {
    const { store, grant, grants } = await setup();
    expect(grants.endsAt(grant)).toBe(grant.createdAt + 30 * 86_400_000);
    const short = new GrantStore(store, Sealer.fromSecrets(secrets), { absoluteMs: 3_600_000, refreshTokenMs: 30 * 86_400_000, now });
    expect(short.endsAt(grant)).toBe(grant.createdAt + 3_600_000);
    clock = grant.createdAt + 30 * 86_400_000 + 1;
    expect(await grants.load(grant.id)).toBeNull(); // the store's TTL agrees
  });
});
