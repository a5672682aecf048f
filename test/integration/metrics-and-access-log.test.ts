import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/observability/logger';
import type { Stack } from '../../src/sandbox/stack';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import { kitTimeStamp, sendKitCall } from '../../src/kit/client';
import { basicBodies, basicCalls, postBasic } from '../support/basic';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { api, syncedStack } from '../support/stack';

type Line = Record<string, unknown>;

/** The value of one series (name and exact label set) in a Prometheus text scrape; 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

describe('metrics and the access log', () => {
  let stack: Stack;
  const lines: Line[] = [];
  let metricsUrl: string;

  beforeAll(async () => {
    const log = createLogger('info', (l) => lines.push(JSON.parse(l) as Line));
    // Every full check renews: tokens live 60 s, renewal is due 120 s before expiry, no session cache.
    stack = await syncedStack({ log, env: { KOOGATE_METRICS_PORT: '0', KOOGATE_RENEW_SKEW_SECONDS: '120', KOOGATE_SESSION_CACHE_MS: '0' } });
    stack.sandbox.behaviour.expiresIn = 60;
    metricsUrl = `http://127.0.0.1:${stack.koogate.metricsPort}/metrics`;
  });
  afterAll(() => stack?.close());

  const scrape = async () => {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  test('a scrape before and after a login, a renewal and a kit call shows the counters move', async () => {
    const before = await scrape();
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const me = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(me.status).toBe(200);
    const publicKey = loadPublicKey(stack.secrets.publicKeyPem);
    const kit = await sendKitCall({
      baseUrl: stack.url,
      iface: 'authSync',
      accessKey: stack.secrets.accessKey,
      publicKey,
      body: { instanceId: 'inst-t-acme', tenantId: 't-acme', appId: 'demo-app-0001', flag: 1, testFlag: 1, timeStamp: kitTimeStamp(Date.now()), userList: [{ userName: 'newcomer', name: 'N', orgCode: '', role: 'user', enable: 'true' }] },
    });
    expect((kit.body as { resultCode: string }).resultCode).toBe('000000');
    const bogus = await fetch(`${stack.url}/produceAPI/v2/<script>`, { method: 'POST', body: '{}' });
    expect(bogus.status).toBe(200);

    const after = await scrape();
    const moved = (series: string) => sample(after, series) - sample(before, series);
    expect(moved('koogate_logins_total{outcome="success"}')).toBe(1);
    expect(moved('koogate_token_renewals_total{outcome="renewed"}')).toBeGreaterThanOrEqual(1);
    expect(moved('koogate_kit_calls_total{interface="authSync",generation="v2",result_code="000000"}')).toBe(1);
    expect(moved('koogate_kit_calls_total{interface="unknown",generation="v2",result_code="000001"}') + moved('koogate_kit_calls_total{interface="unknown",generation="v2",result_code="000002"}')).toBe(1);
    expect(after).not.toContain('<script>');
    expect(moved('koogate_marketplace_request_duration_seconds_count{endpoint="token",outcome="ok"}')).toBe(1);
    expect(moved('koogate_marketplace_request_duration_seconds_count{endpoint="refresh",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(moved('koogate_marketplace_request_duration_seconds_count{endpoint="userinfo",outcome="ok"}')).toBe(1);
    expect(moved('koogate_proxy_request_duration_seconds_count{status_class="2xx"}')).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^process_cpu_seconds_total /m);
    expect(after).toMatch(/^koogate_websockets_open 0$/m);

    const logout = await client.request(`${stack.url}/_koogate/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(logout.status).toBe(303);
    expect(sample(await scrape(), 'koogate_sessions_ended_total{reason="logout"}') - sample(before, 'koogate_sessions_ended_total{reason="logout"}')).toBe(1);
  });

  test('basic calls count with generation basic, by activity and the resultCode answered; unknown names stay unknown', async () => {
    const basic = basicCalls(() => ({ url: `${stack.koogate.url}/_koogate/produce`, accessKey: stack.secrets.basicAccessKey }));
    const calls = (iface: string, code: string) => `koogate_kit_calls_total{interface="${iface}",generation="basic",result_code="${code}"}`;
    const before = await scrape();

    const created = await basic.send('newInstance', basicBodies.newInstance(`o-metrics-${Date.now()}`));
    expect(created.json.resultCode).toBe('000000');
    const instanceId = String(created.json.instanceId);
    expect((await basic.send('updateInstanceStatus', basicBodies.status(instanceId, 'FREEZE'))).json.resultCode).toBe('000000');
    expect((await basic.send('updateInstanceStatus', basicBodies.status(instanceId, 'UNFREEZE'))).json.resultCode).toBe('000000');
    expect((await basic.send('upgradeInstance', { instanceId, orderId: 'o-up-1', orderLineId: 'l-1', testFlag: '1' })).json.resultCode).toBe('000000');
    expect((await basic.send('queryInstance', { instanceId: 'no-such-instance', testFlag: '1' })).json.resultCode).toBe('000003');
    expect((await basic.send('releaseInstance', { instanceId, testFlag: '1' })).json.resultCode).toBe('000000');
    // Refusals: a bad signature under a real activity's name; an activity of the sender's invention, signed;
    // a body that is no JSON; a body over the size limit.
    const forged = await postBasic(basic.raw(JSON.stringify({ activity: 'newInstance', ...basicBodies.newInstance('o-forged') }), { signature: 'ab'.repeat(32) }));
    expect(forged.json.resultCode).toBe('000001');
    const invented = await postBasic(basic.raw(JSON.stringify({ activity: '<script>x</script>', instanceId: 'i-1' })));
    expect(invented.json.resultCode).toBe('000002');
    expect((await postBasic(basic.raw('not json {'))).json.resultCode).toBe('000002');
    const huge = await postBasic(basic.raw(JSON.stringify({ activity: 'queryInstance', instanceId: 'x'.repeat(70 * 1024) })));
    expect(huge.json.resultCode).toBe('000002');

    const after = await scrape();
    const moved = (series: string) => sample(after, series) - sample(before, series);
    expect(moved(calls('newInstance', '000000'))).toBe(1);
    expect(moved(calls('updateInstanceStatus', '000000'))).toBe(2);
    expect(moved(calls('upgradeInstance', '000000'))).toBe(1);
    expect(moved(calls('queryInstance', '000003'))).toBe(1);
    expect(moved(calls('releaseInstance', '000000'))).toBe(1);
    expect(moved(calls('newInstance', '000001'))).toBe(1);
    expect(moved(calls('unknown', '000002'))).toBe(3);
    expect(after).not.toContain('<script');
    // Every basic series is one of the activities' names or unknown, whatever was sent.
    const ifaces = [...after.matchAll(/^koogate_kit_calls_total\{interface="([^"]*)",generation="basic"/gm)].map((m) => m[1]!);
    const known = ['newInstance', 'queryInstance', 'refreshInstance', 'updateInstanceStatus', 'releaseInstance', 'upgradeInstance', 'changeInstanceCheck', 'unknown'];
    for (const i of ifaces) expect(known).toContain(i);
  });

  test('every koogate_ series is named in the README', async () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const names = new Set([...(await scrape()).matchAll(/^# TYPE (koogate_\w+) /gm)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThanOrEqual(9);
    for (const n of names) expect(readme).toContain(`\`${n}\``);
  });

  test('the metrics listener serves only GET /metrics, and never the public port', async () => {
    expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404);
    const pub = await fetch(`${stack.url}/metrics`, { headers: api });
    expect(await pub.text()).not.toContain('koogate_logins_total');
  });

  test('an access-log line carries the request id the app saw, and no query', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const res = await client.request(`${stack.url}/api/echo?secret=hunter2`, { headers: api });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const seen = JSON.parse(res.text) as { headers: Record<string, string> };
    expect(seen.headers['x-request-id']).toBe(id);
    await new Promise((ok) => setImmediate(ok));
    const line = lines.find((l) => l.msg === 'request' && l.requestId === id);
    expect(line).toMatchObject({ log: 'access', kind: 'proxy', method: 'GET', path: '/api/echo', status: 200, tenantId: 't-acme', userName: 'zhangwei' });
    expect(typeof line!.ms).toBe('number');
    expect(line!.bytes as number).toBeGreaterThan(res.text.length);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  test('a client cannot choose its request id unless it is a trusted proxy; koogate routes are logged too', async () => {
    const res = await fetch(`${stack.url}/_koogate/healthz`, { headers: { 'x-request-id': 'forged-id-1' } });
    const id = res.headers.get('x-request-id');
    expect(id).not.toBe('forged-id-1');
    await new Promise((ok) => setImmediate(ok));
    expect(lines.find((l) => l.msg === 'request' && l.requestId === id)).toMatchObject({ kind: 'own', path: '/_koogate/healthz', status: 200 });
  });

  test('an error page shows the request id of its log lines', async () => {
    const res = await fetch(`${stack.url}/_koogate/callback?code=x`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    const id = res.headers.get('x-request-id')!;
    expect(await res.text()).toContain(id);
    await new Promise((ok) => setImmediate(ok));
    expect(lines.filter((l) => l.requestId === id).map((l) => l.msg)).toEqual(expect.arrayContaining(['request refused', 'request']));
  });
});
