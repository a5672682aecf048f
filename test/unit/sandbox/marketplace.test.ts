/**
 * The sandbox marketplace over real HTTP: it must speak docs/protocol.md §2 faithfully,
 * since koogate's own tests trust it.
 */
import { startSandbox, demoTenants, MARKETPLACE_SESSION_COOKIE, type Sandbox } from '../../../src/sandbox/marketplace';

const APP_ID = 'app-test-0001';
const CALLBACK = 'http://127.0.0.1:9/_koogate/callback';

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ apps: [{ appId: APP_ID, callbackUrl: CALLBACK }] });
});

afterAll(async () => {
  await sb.close();
});

beforeEach(() => {
  sb.behaviour.failToken = undefined;
  sb.behaviour.failUserinfo = undefined;
  sb.behaviour.tokenDelayMs = 0;
  sb.behaviour.userinfoDelayMs = 0;
  sb.behaviour.rotateRefreshTokens = true;
  sb.behaviour.expiresIn = 7200;
  sb.resetStats();
});

/** Resolves once `holds` is true, looking again after each turn of the event loop: the sandbox emits no event for it. */
async function until(holds: () => boolean): Promise<void> {
  while (!holds()) await new Promise((r) => setImmediate(r));
}

function tenant(id: string) {
  const t = sb.tenants.find((x) => x.tenantId === id);
  if (!t) throw new Error(`no tenant ${id}`);
  return t;
}

async function post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

function tokenUrl(tenantId: string): string {
  return `${sb.domainOf(tenantId)}/api/v1/oauth2/token`;
}

async function exchange(tenantId: string, code: string, extra: Record<string, string> = {}) {
  const t = tenant(tenantId);
  return post(tokenUrl(tenantId), {
    grant_type: 'authorization_code',
    code,
    client_id: t.clientId,
    client_secret: t.clientSecret,
    ...extra,
  });
}

async function refresh(tenantId: string, refreshToken: string) {
  const t = tenant(tenantId);
  return post(tokenUrl(tenantId), {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: t.clientId,
    client_secret: t.clientSecret,
  });
}

async function tokensFor(tenantId: string, userName: string): Promise<{ access_token: string; refresh_token: string }> {
  const res = await exchange(tenantId, sb.issueCode(APP_ID, tenantId, userName));
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

async function userinfo(tenantId: string, accessToken: string) {
  return fetch(`${sb.domainOf(tenantId)}/api/v1/oauth2/userinfo`, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    redirect: 'manual',
  });
}

function sessionCookie(res: Response): string | undefined {
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${MARKETPLACE_SESSION_COOKIE}=`));
  return set;
}

async function browserLogin(tenantId: string, userName: string): Promise<{ res: Response; cookie: string; location: URL }> {
  const res = await post(`${sb.url}/unified-login/authorize`, { appId: APP_ID, tenantId, userName });
  expect(res.status).toBe(302);
  const set = sessionCookie(res);
  expect(set).toBeDefined();
  const cookie = (set ?? '').split(';')[0] ?? '';
  return { res, cookie, location: new URL(res.headers.get('location') ?? '') };
}

describe('sandbox marketplace', () => {
  test('url, login URL template and tenant domains have the documented shapes', () => {
    expect(sb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sb.loginUrlTemplate).toBe(`${sb.url}/unified-login/#/portal-login?ind=UNOP&appId={appId}`);
    expect(sb.domainOf('t-acme')).toBe(`${sb.url}/t/t-acme`);
    const demo = demoTenants();
    expect(demo).toHaveLength(2);
    expect(demo.some((t) => t.users.some((u) => u.role === 'admin'))).toBe(true);
    expect(demo.some((t) => t.users.some((u) => /[\u4e00-\u9fff]/.test(u.name)))).toBe(true);
  });

  test('authorize → callback with code → token exchange → userinfo', async () => {
    const { res, location } = await browserLogin('t-acme', 'zhangwei');
    expect(location.origin + location.pathname).toBe(CALLBACK);
    expect(location.searchParams.get('tenant')).toBe('t-acme');
    const code = location.searchParams.get('code');
    expect(code).toBeTruthy();
    const set = sessionCookie(res) ?? '';
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/Path=\//);

    const tok = await exchange('t-acme', code ?? '', { redirect_uri: CALLBACK });
    expect(tok.status).toBe(200);
    expect(tok.headers.get('cache-control')).toBe('no-store');
    expect(tok.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await tok.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 7200,
      scope: 'get_user_info',
      refresh_token: expect.any(String),
    });
    expect(sb.stats.authorizationCodeGrants).toBe(1);
    expect(sb.stats.lastTokenRequest).toEqual({
      grant_type: 'authorization_code',
      code,
      client_id: 'acme-client',
      client_secret: '***',
      redirect_uri: CALLBACK,
    });

    const ui = await userinfo('t-acme', String(body.access_token));
    expect(ui.status).toBe(200);
    expect(await ui.json()).toEqual({
      id: 'u-acme-0001',
      userName: 'zhangwei',
      name: '张伟',
      email: 'zhangwei@acme.example',
      mobile: '13800000001',
      role: 'admin',
      userId: 'u-acme-0001',
      organizationName: '研发部',
      organizationCode: 'acme-rd',
      projectName: 'Acme 科技有限公司',
      tenant: 't-acme',
    });
    expect(sb.stats.userinfoCalls).toBe(1);
  });

  test('userinfo omits fields the user does not have', async () => {
    const { access_token } = await tokensFor('t-globex', 'john');
    const info = (await (await userinfo('t-globex', access_token)).json()) as Record<string, string>;
    expect(info.userName).toBe('john');
    expect(info.projectName).toBe('Globex 环球集团');
    expect('mobile' in info).toBe(false);
    expect('organizationCode' in info).toBe(false);
  });

  test('authorize refuses an unknown app, tenant or user with a 400 page', async () => {
    const url = `${sb.url}/unified-login/authorize`;
    for (const fields of [
      { appId: 'nope', tenantId: 't-acme', userName: 'zhangwei' },
      { appId: APP_ID, tenantId: 't-nope', userName: 'zhangwei' },
      { appId: APP_ID, tenantId: 't-acme', userName: 'wangfang' },
    ]) {
      const res = await post(url, fields);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(sessionCookie(res)).toBeUndefined();
    }
    expect(sb.stats.codesIssued).toBe(0);
  });

  test('a code is single-use: the second exchange is invalid_grant', async () => {
    const code = sb.issueCode(APP_ID, 't-acme', 'lina');
    expect((await exchange('t-acme', code)).status).toBe(200);
    const again = await exchange('t-acme', code);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    expect(sb.stats.authorizationCodeGrants).toBe(1);
    expect(sb.stats.failedGrants).toBe(1);
  });

  test('a code is bound to its tenant and to the registered redirect_uri', async () => {
    // A namesake in the other tenant, so only the code's tenant binding can refuse the exchange.
    const globexUsers = tenant('t-globex').users;
    globexUsers.push({ userName: 'lina', name: 'Lina (Globex)' });
    try {
      const forAcme = sb.issueCode(APP_ID, 't-acme', 'lina');
      const wrongTenant = await exchange('t-globex', forAcme);
      expect(wrongTenant.status).toBe(400);
      expect(((await wrongTenant.json()) as { error: string }).error).toBe('invalid_grant');
    } finally {
      globexUsers.pop();
    }

    const code = sb.issueCode(APP_ID, 't-acme', 'lina');
    const wrongRedirect = await exchange('t-acme', code, { redirect_uri: 'http://127.0.0.1:9/elsewhere' });
    expect(wrongRedirect.status).toBe(400);
    expect(((await wrongRedirect.json()) as { error: string }).error).toBe('invalid_grant');
  });

  test('wrong secret or unknown client → 401 invalid_client', async () => {
    const code = sb.issueCode(APP_ID, 't-acme', 'lina');
    const wrong = await exchange('t-acme', code, { client_secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
    const unknown = await exchange('t-acme', code, { client_id: 'who-is-this' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe('invalid_client');
    // Failed client authentication does not consume the code.
    expect((await exchange('t-acme', code)).status).toBe(200);
  });

  test("another tenant's client on this domain → 403", async () => {
    const code = sb.issueCode(APP_ID, 't-acme', 'lina');
    const globex = tenant('t-globex');
    const res = await exchange('t-acme', code, { client_id: globex.clientId, client_secret: globex.clientSecret });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: string };
    expect(typeof body.error).toBe('string');
  });

  test('unsupported grant type → 400 unsupported_grant_type', async () => {
    const t = tenant('t-acme');
    const res = await post(tokenUrl('t-acme'), {
      grant_type: 'client_credentials',
      client_id: t.clientId,
      client_secret: t.clientSecret,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  test('refresh with rotation returns a new refresh token and kills the old one', async () => {
    const first = await tokensFor('t-acme', 'zhangwei');
    const r1 = await refresh('t-acme', first.refresh_token);
    expect(r1.status).toBe(200);
    const second = (await r1.json()) as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await userinfo('t-acme', second.access_token)).status).toBe(200);

    const reuse = await refresh('t-acme', first.refresh_token);
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await refresh('t-acme', second.refresh_token)).status).toBe(200);
    expect(sb.stats.refreshGrants).toBe(2);
    expect(sb.stats.failedGrants).toBe(1);
  });

  test('without rotation the same refresh token comes back and stays usable', async () => {
    sb.behaviour.rotateRefreshTokens = false;
    const first = await tokensFor('t-acme', 'zhangwei');
    for (let i = 0; i < 2; i++) {
      const r = await refresh('t-acme', first.refresh_token);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { refresh_token: string }).refresh_token).toBe(first.refresh_token);
    }
  });

  test('a refresh token only works for its own client, and revokeRefreshTokens kills them all', async () => {
    const acme = await tokensFor('t-acme', 'zhangwei');
    const cross = await refresh('t-globex', acme.refresh_token);
    expect(cross.status).toBe(400);
    expect(((await cross.json()) as { error: string }).error).toBe('invalid_grant');

    sb.revokeRefreshTokens();
    const dead = await refresh('t-acme', acme.refresh_token);
    expect(dead.status).toBe(400);
    expect(((await dead.json()) as { error: string }).error).toBe('invalid_grant');
  });

  test('behaviour.expiresIn is what new tokens announce', async () => {
    sb.behaviour.expiresIn = 5;
    const res = await exchange('t-acme', sb.issueCode(APP_ID, 't-acme', 'bob'));
    expect(((await res.json()) as { expires_in: number }).expires_in).toBe(5);
  });

  test('behaviour.failToken overrides the token endpoint: status, reset, hang; delay applies', async () => {
    const code = sb.issueCode(APP_ID, 't-acme', 'lina');
    sb.behaviour.failToken = { status: 503, body: { error: 'temporarily_unavailable' } };
    const failed = await exchange('t-acme', code);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ error: 'temporarily_unavailable' });

    sb.behaviour.failToken = 'reset';
    await expect(exchange('t-acme', code)).rejects.toThrow();

    sb.behaviour.failToken = 'hang';
    const t = tenant('t-acme');
    const hung = fetch(tokenUrl('t-acme'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: t.clientId, client_secret: t.clientSecret }),
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toThrow();
    expect(sb.stats.tokenRequests).toBe(3);
    expect(sb.stats.failedGrants).toBe(3);

    // Forced failures do not consume the code.
    sb.behaviour.failToken = undefined;
    expect((await exchange('t-acme', code)).status).toBe(200);
  });

  test('behaviour.tokenDelayMs holds the token answer while other requests are answered', async () => {
    const own = await startSandbox({ apps: [{ appId: APP_ID, callbackUrl: CALLBACK }], behaviour: { tokenDelayMs: 600_000 } });
    const code = own.issueCode(APP_ID, 't-acme', 'zhangwei');
    const t = own.tenants.find((x) => x.tenantId === 't-acme')!;
    let answered = false;
    const delayed = post(`${own.url}/t/t-acme/api/v1/oauth2/token`, { grant_type: 'authorization_code', code, client_id: t.clientId, client_secret: t.clientSecret }).then(
      () => (answered = true),
      () => undefined,
    );
    await until(() => own.stats.tokenRequests === 1);
    expect((await fetch(`${own.url}/unified-login/`)).status).toBe(200);
    expect(answered).toBe(false);
    await own.close();
    await delayed;
    expect(answered).toBe(false);
  });

  test('behaviour.failUserinfo overrides the userinfo endpoint', async () => {
    const { access_token } = await tokensFor('t-acme', 'lina');
    sb.behaviour.failUserinfo = { status: 502, body: '<html>bad gateway</html>' };
    const res = await userinfo('t-acme', access_token);
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('<html>bad gateway</html>');
  });

  test('expireAccessTokens → userinfo 401 unauthorized; tokens of another tenant are refused too', async () => {
    const { access_token } = await tokensFor('t-acme', 'lina');
    expect((await userinfo('t-acme', access_token)).status).toBe(200);
    expect((await userinfo('t-globex', access_token)).status).toBe(401);
    sb.expireAccessTokens();
    const res = await userinfo('t-acme', access_token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'unauthorized', error_description: expect.any(String) });
    const none = await fetch(`${sb.domainOf('t-acme')}/api/v1/oauth2/userinfo`);
    expect(none.status).toBe(401);
  });

  test('a live marketplace session continues at once with a fresh code; logout ends it', async () => {
    const { cookie } = await browserLogin('t-globex', 'wangfang');

    const page = await fetch(`${sb.url}/unified-login/`, { headers: { cookie } });
    expect(await page.text()).toContain('"session":{"tenantId":"t-globex"');

    const cont = await fetch(`${sb.url}/unified-login/continue?appId=${APP_ID}`, { headers: { cookie }, redirect: 'manual' });
    expect(cont.status).toBe(302);
    const loc = new URL(cont.headers.get('location') ?? '');
    expect(loc.origin + loc.pathname).toBe(CALLBACK);
    expect(loc.searchParams.get('tenant')).toBe('t-globex');
    const tok = (await (await exchange('t-globex', loc.searchParams.get('code') ?? '')).json()) as { access_token: string };
    const info = (await (await userinfo('t-globex', tok.access_token)).json()) as { userName: string };
    expect(info.userName).toBe('wangfang');

    const target = 'http://127.0.0.1:9/goodbye?x=1';
    const out = await fetch(`${sb.domainOf('t-globex')}/api/v1/logout?redirect_url=${encodeURIComponent(target)}`, {
      headers: { cookie },
      redirect: 'manual',
    });
    expect(out.status).toBe(302);
    expect(out.headers.get('location')).toBe(target);
    expect(sessionCookie(out)).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(sb.stats.logouts).toBe(1);

    // The old cookie no longer continues: back to the login form.
    const after = await fetch(`${sb.url}/unified-login/continue?appId=${APP_ID}`, { headers: { cookie }, redirect: 'manual' });
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe(sb.loginUrlTemplate.replace('{appId}', APP_ID));
  });

  test('logout without redirect_url goes to the unified login page', async () => {
    const res = await fetch(`${sb.domainOf('t-acme')}/api/v1/logout`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${sb.url}/unified-login/`);
    expect(sb.stats.logouts).toBe(1);
  });

  test('the login page reads its parameters from the fragment and lists apps and tenants', async () => {
    const res = await fetch(`${sb.url}/unified-login/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('location.hash');
    expect(html).toContain("get('ind') !== 'UNOP'");
    expect(html).toContain(`"apps":["${APP_ID}"]`);
    expect(html).toContain('Acme 科技有限公司');
    expect(html).toContain('action="/unified-login/authorize"');
    expect(html).not.toContain('"session"');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get('content-security-policy') ?? '')?.[1];
    expect(nonce).toBeTruthy();
    expect(html).toContain(`<script nonce="${nonce}">`);
  });

  test('apps registered after start are accepted', async () => {
    sb.registerApp({ appId: 'late-app', callbackUrl: 'http://127.0.0.1:9/late/callback' });
    const res = await post(`${sb.url}/unified-login/authorize`, { appId: 'late-app', tenantId: 't-acme', userName: 'bob' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:9\/late\/callback\?code=[\w-]+&tenant=t-acme$/);
    expect(() => sb.issueCode('unknown-app', 't-acme', 'bob')).toThrow();
    expect(() => sb.registerApp({ appId: 'bad', callbackUrl: '/relative' })).toThrow();
  });

  test('anything else is a 404 JSON', async () => {
    const res = await fetch(`${sb.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
  });
});

describe('sandbox lifecycle', () => {
  test('close() ends a hung request and an idle keep-alive connection', async () => {
    const own = await startSandbox({ apps: [{ appId: APP_ID, callbackUrl: CALLBACK }], behaviour: { failToken: 'hang' } });
    expect((await fetch(`${own.url}/unified-login/`)).status).toBe(200); // leaves a keep-alive socket
    const hung = post(`${own.url}/t/t-acme/api/v1/oauth2/token`, { grant_type: 'authorization_code' });
    await until(() => own.stats.tokenRequests === 1);
    // Neither the hung request nor the idle keep-alive socket holds close() (jest's timeout would).
    await own.close();
    await expect(hung).rejects.toThrow();
  });
});
