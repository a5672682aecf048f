import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { OAEP_VARIANTS } from '../../src/crypto/rsa-oaep';
import { Sealer } from '../../src/crypto/sealed';
import { Directory } from '../../src/directory/directory';
import { ANSWER_DEADLINE_MS, kitRouter, type KitCallApplied } from '../../src/kit/router';
import type { DeadlineTimer } from '../../src/kit/within';
import { KitV1Verifier, KitV2Verifier } from '../../src/kit/verify';
import { silentLogger } from '../../src/observability/logger';
import { DEMO_APP_ID } from '../../src/sandbox/stack';
import { MemoryStore } from '../../src/store/memory';
import { bodies, kitCalls } from '../support/kit';

/**
 * The kit router's hand-on of applied calls (onApplied: what the webhook queues), over real HTTP: called
 * once per applied call with the validated body, never for a refused one; a failure answers 000500 after
 * the change is stored, so KooGallery's retry hands the call on again; a hand-on slower than the answer
 * deadline does not hold the answer.
 */
describe('kit router: onApplied', () => {
  const accessKey = `ak-${randomBytes(8).toString('hex')}`;
  let server: Server;
  let baseUrl: string;
  let directory: Directory;
  let publicKey: KeyObject;
  const calls: KitCallApplied[] = [];
  let onApplied: (call: KitCallApplied) => Promise<void>;
  /** The answer deadlines the router started and has not cancelled, fired by the test instead of the clock. */
  const deadlines = new Set<{ ms: number; fire: () => void }>();
  const timer: DeadlineTimer = (ms, fire) => {
    const d = { ms, fire };
    deadlines.add(d);
    return () => deadlines.delete(d);
  };
  const kit = kitCalls(() => ({ baseUrl, accessKey, publicKey }));

  beforeAll(async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    publicKey = keys.publicKey;
    const store = new MemoryStore();
    directory = new Directory(store, Sealer.fromSecrets(['s'.repeat(40)]));
    const verify = { accessKey, windowMs: 60_000, store };
    const app = express();
    app.use(
      '/produceAPI',
      kitRouter({
        verifier: new KitV2Verifier(verify),
        v1Verifier: new KitV1Verifier(verify),
        directory,
        appId: DEMO_APP_ID,
        privateKey: keys.privateKey,
        oaepVariants: OAEP_VARIANTS,
        allowHttpMarketplace: true,
        log: silentLogger,
        timer,
        onAccessChanged: async () => {},
        onApplied: (call) => {
          calls.push(call);
          return onApplied(call);
        },
      }),
    );
    server = createServer(app);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    calls.length = 0;
    onApplied = async () => {};
  });
  afterAll(async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
  });

  test('called once per applied call, with the interface, generation, arrival time and validated body', async () => {
    const before = Date.now();
    expect((await kit.send('tenantSync', bodies.tenant('t-1', 'https://id.example/t-1', { flag: '1' }))).resultCode).toBe('000000');
    expect((await kit.send('authSync', bodies.auth('t-1', [bodies.user('u1')]), { generation: 'v1' })).resultCode).toBe('000000');
    expect(calls.map((c) => [c.iface, c.generation])).toEqual([
      ['tenantSync', 'v2'],
      ['authSync', 'v1'],
    ]);
    expect(calls[0]!.body).toMatchObject({ tenantId: 't-1', flag: 1, domainName: 'https://id.example/t-1' });
    expect((calls[1]!.body as { userList: unknown }).userList).toEqual([expect.objectContaining({ userName: 'u1' })]);
    for (const c of calls) expect(c.receivedAt).toBeGreaterThanOrEqual(before - 5);
  });

  test('never called for a refused call', async () => {
    const refused = [
      await kit.send('tenantSync', bodies.tenant('t-2', 'https://id.example/t-2'), { accessKey: 'wrong' }),
      await kit.send('tenantSync', bodies.tenant('t-2', 'ftp://id.example/t-2')),
      await kit.send('authSync', bodies.auth('t-2', [bodies.user('u1')], { appId: 'other-app' })),
      await kitCalls(() => ({ baseUrl, accessKey })).send('applicationSync', bodies.app('t-2', { clientSecret: randomBytes(256).toString('base64') })),
    ];
    expect(refused.map((a) => a.resultCode)).toEqual(['000001', '000002', '000002', '000101']);
    expect(calls).toEqual([]);
  });

  test('a failing hand-on answers 000500 after the change is stored; the retry hands it on again', async () => {
    onApplied = async () => {
      throw new Error('queue unreachable');
    };
    const body = bodies.tenant('t-3', 'https://id.example/t-3');
    const a = await kit.send('tenantSync', body);
    expect(a.resultCode).toBe('000500');
    expect(a.resultMsg).toMatch(/stored.*retry/);
    expect(await directory.getTenant('t-3')).toMatchObject({ tenantId: 't-3' });
    onApplied = async () => {};
    expect((await kit.send('tenantSync', body)).resultCode).toBe('000000');
    expect(calls.map((c) => (c.body as { tenantId: string }).tenantId)).toEqual(['t-3', 't-3']);
  });

  test('a hand-on slower than the answer deadline does not hold the answer', async () => {
    let release!: () => void;
    let handedOn!: () => void;
    const reached = new Promise<void>((ok) => (handedOn = ok));
    onApplied = () => {
      handedOn();
      return new Promise<void>((ok) => (release = ok));
    };
    const answer = kit.send('tenantSync', bodies.tenant('t-4', 'https://id.example/t-4'));
    await reached;
    // The hand-on hangs; the router waits on its deadline for what is left of ANSWER_DEADLINE_MS.
    expect([...deadlines].map((d) => d.ms)).toEqual([expect.any(Number)]);
    const [deadline] = [...deadlines];
    expect(deadline!.ms).toBeLessThanOrEqual(ANSWER_DEADLINE_MS);
    expect(deadline!.ms).toBeGreaterThan(ANSWER_DEADLINE_MS - 1000);
    deadline!.fire();
    expect((await answer).resultCode).toBe('000000');
    release();
  });

  test('a hand-on within the deadline cancels its timer', async () => {
    onApplied = async () => {};
    expect((await kit.send('tenantSync', bodies.tenant('t-5', 'https://id.example/t-5'))).resultCode).toBe('000000');
    expect(deadlines.size).toBe(0);
  });
});
