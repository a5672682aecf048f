import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { WS_CLOSE_SESSION_ENDED } from '../../src/proxy/ws-registry';
import { basicBodies, basicCalls } from '../support/basic';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startReplicaPair, type ReplicaPair } from '../support/replica';
import { api } from '../support/stack';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** The basic interfaces on two koogate processes sharing one Redis: the deployment operators run. */
describe('basic interfaces across two replicas on one Redis', () => {
  let upstream: TestUpstream;
  let pair: ReplicaPair;
  const at = (replica: () => string) => basicCalls(() => ({ url: `${replica()}/_koogate/produce`, accessKey: pair.secrets.basicAccessKey }));
  const atA = at(() => pair.a.url);
  const atB = at(() => pair.b.url);

  beforeAll(async () => {
    upstream = await startTestUpstream();
    pair = await startReplicaPair({ upstreamUrl: upstream.url });
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await upstream?.close();
  });

  test('both replicas print the production address to register', () => {
    for (const r of [pair.a, pair.b]) {
      const line = r.logs.find((l) => l.includes('production address to register'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ url: `${pair.a.url}/_koogate/produce` });
      expect(r.logs.some((l) => l.includes('basic interfaces are off'))).toBe(false);
    }
  });

  test('retries of one newInstance at both replicas at once all answer the first call’s instanceId', async () => {
    const order = `o-${randomBytes(6).toString('hex')}`;
    const bodies = Array.from({ length: 10 }, () => basicBodies.newInstance(order));
    const answers = await Promise.all(bodies.map((b, i) => (i % 2 === 0 ? atA : atB).send('newInstance', b)));
    expect(answers.every((a) => a.json.resultCode === '000000')).toBe(true);
    const ids = new Set(answers.map((a) => a.json.instanceId));
    expect(ids.size).toBe(1);
    const id = [...ids][0] as string;
    expect(bodies.map((b) => b.businessId)).toContain(id);
    // Later retries, at either replica, keep it.
    expect((await atB.send('newInstance', basicBodies.newInstance(order))).json.instanceId).toBe(id);
    expect((await atA.send('queryInstance', { instanceId: id })).json.info).toEqual([{ instanceId: id, appInfo: { frontEndUrl: pair.a.url } }]);
  });

  test('a freeze at A ends a session and a websocket held at B; UNFREEZE at B lets the user in again', async () => {
    const { a, b, sandbox } = pair;
    const client = new Client();
    expect((await login(client, a.url, sandbox, { returnTo: '/', stopAtCallback: true })).at(-1)!.status).toBe(302);
    const cookie = client.cookieHeader(a.url);
    const atBPage = () => fetch(`${b.url}/whoami`, { headers: { ...api, cookie } }).then((r) => r.status);
    expect(await atBPage()).toBe(200);

    const ws = new WebSocket(`${b.url.replace('http:', 'ws:')}/ws`, { headers: { cookie } });
    const closed = new Promise<number>((ok) => ws.on('close', (code) => ok(code)));
    await new Promise<void>((ok, fail) => {
      ws.once('message', () => ok());
      ws.once('error', fail);
    });

    expect((await atA.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'FREEZE'))).json.resultCode).toBe('000000');
    expect(await closed).toBe(WS_CLOSE_SESSION_ENDED);
    expect(await atBPage()).toBe(401);
    const refused = (await login(new Client(), b.url, sandbox, { returnTo: '/', stopAtCallback: true })).at(-1)!;
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('KOOGATE_SUBSCRIPTION_INACTIVE');

    expect((await atB.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'UNFREEZE'))).json.resultCode).toBe('000000');
    expect((await login(new Client(), b.url, sandbox, { returnTo: '/', stopAtCallback: true })).at(-1)!.status).toBe(302);
  });
});
