import { randomBytes } from 'node:crypto';
import { loginCookie } from '../support/login';
import { getOrError as get } from '../support/raw-http';
import { builtSupport, startReplicaStack, type ReplicaStack } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/**
 * The process-wide last-resort handlers (src/observability/last-resort.ts) in a real koogate process:
 * test/support/koogate-with-faults.ts runs koogate's own main.js and raises an unhandled rejection on
 * SIGUSR2 and an uncaught exception on SIGHUP. The first is logged and koogate keeps serving; the second
 * is logged, then koogate drains as on SIGTERM (test/integration/shutdown.test.ts) and exits 1.
 */
describe('last-resort handlers in a real process', () => {
  const SECRET = `fault-${randomBytes(8).toString('hex')}`;
  let upstream: TestUpstream;
  let stack: ReplicaStack;
  let url: string;
  let cookie: string;
  const lines = (msg: string) => stack.replica.logs.filter((l) => l.includes(`"msg":${JSON.stringify(msg)}`));

  beforeAll(async () => {
    upstream = await startTestUpstream();
    stack = await startReplicaStack(upstream.url, { TEST_FAULT_SECRET: SECRET }, builtSupport('koogate-with-faults'));
    url = stack.replica.url;
    cookie = await loginCookie(url, stack.sandbox);
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.close();
  });

  test('an unhandled rejection is one JSON error line, nothing secret in it, and koogate keeps serving', async () => {
    expect(await get(`${url}/before`, { cookie, accept: 'application/json' })).toMatchObject({ status: 200 });
    stack.replica.child.kill('SIGUSR2');
    const line = await stack.replica.waitForLog((l) => l.msg === 'unhandled rejection; still serving');
    expect(line).toMatchObject({
      level: 'error',
      err: { name: 'Error', errorCode: 'TEST_FAULT_REJECTED', message: 'rejected while talking to redis://[redacted]@10.0.0.5:6379/0' },
    });
    expect((line.err as { stack: string }).stack.split('\n').length).toBeLessThanOrEqual(6);
    expect(lines('unhandled rejection; still serving')).toHaveLength(1);

    // Still serving: a proxied request with the session goes through to the app, and koogate is ready.
    const after = await get(`${url}/after-rejection`, { cookie, accept: 'application/json' });
    expect(after).toMatchObject({ status: 200 });
    expect(JSON.parse((after as { body: string }).body)).toMatchObject({ url: '/after-rejection', headers: { 'x-forwarded-user': 'zhangwei' } });
    expect(await get(`${url}/_koogate/readyz`)).toMatchObject({ status: 200 });
    expect(stack.replica.child.exitCode).toBeNull();
    expect(lines('shutting down')).toEqual([]);
    expect(stack.replica.logs.join('\n')).not.toContain(SECRET);
  });

  test('an uncaught exception is logged, then koogate drains like SIGTERM: in-flight requests complete, exit 1', async () => {
    const IN_FLIGHT = 5;
    const settled: boolean[] = [];
    const held = Array.from({ length: IN_FLIGHT }, (_, i) =>
      get(`${url}/held?n=${i}`, { cookie, accept: 'application/json' }).then((r) => {
        settled[i] = true;
        return r;
      }),
    );
    await upstream.arrived('/held', IN_FLIGHT);

    stack.replica.child.kill('SIGHUP');
    const line = await stack.replica.waitForLog((l) => l.msg === 'uncaught exception; shutting down');
    expect(line).toMatchObject({
      level: 'error',
      err: { name: 'Error', errorCode: 'TEST_FAULT_THROWN', message: 'thrown while talking to redis://[redacted]@10.0.0.5:6379/0' },
    });
    // The same shutdown as a signal's, named after its reason, with every held request still in flight.
    expect(await stack.replica.waitForLog((l) => l.msg === 'shutting down')).toMatchObject({ signal: 'uncaughtException' });
    expect(await stack.replica.waitForLog((l) => l.msg === 'draining: no new connections')).toMatchObject({ inFlight: IN_FLIGHT });
    expect(await get(`${url}/_koogate/healthz`)).toEqual({ error: 'ECONNREFUSED' });
    expect(settled).toEqual([]);
    expect(stack.replica.child.exitCode).toBeNull();

    upstream.release();
    expect(await Promise.all(held)).toEqual(Array.from({ length: IN_FLIGHT }, () => ({ status: 200, body: 'released' })));
    expect(await stack.replica.exited).toBe(1);

    const all = stack.replica.logs.join('\n');
    expect(lines('uncaught exception; shutting down')).toHaveLength(1);
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/grace period over/);
  }, 60_000);
});
