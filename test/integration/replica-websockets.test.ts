import WebSocket from 'ws';
import { WS_CLOSE_SESSION_ENDED } from '../../src/proxy/ws-registry';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startReplicaPair, type ReplicaPair } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** A websocket held by replica B closes the moment the session ends on replica A. */
describe('websockets across replicas', () => {
  let upstream: TestUpstream;
  let pair: ReplicaPair;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    pair = await startReplicaPair({ upstreamUrl: upstream.url });
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await upstream?.close();
  });

  test('logout at A closes the socket open at B with code 4401', async () => {
    const { a, b, sandbox } = pair;
    const client = new Client();
    expect((await login(client, a.url, sandbox, { returnTo: '/', stopAtCallback: true })).at(-1)!.status).toBe(302);

    const ws = new WebSocket(`${b.url.replace('http:', 'ws:')}/ws`, { headers: { cookie: client.cookieHeader(a.url) } });
    const closed = new Promise<number>((ok) => ws.on('close', (code) => ok(code)));
    const hello = await new Promise<string>((ok, fail) => {
      ws.once('message', (m) => ok(m.toString()));
      ws.once('error', fail);
    });
    expect(JSON.parse(hello)).toEqual({ hello: 'zhangwei' });

    expect((await client.request(`${a.url}/_koogate/logout`, { method: 'POST' })).status).toBe(303);
    expect(await closed).toBe(WS_CLOSE_SESSION_ENDED);
  });
});
