import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { loginCookie } from '../support/login';
import { getOrError as get } from '../support/raw-http';
import { startReplicaStack } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** The whole of what arrives on a raw connection until the server closes it. */
function untilClosed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  return new Promise((ok) => socket.once('close', () => ok(text)));
}

function opened(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect(port, '127.0.0.1', () => ok(s));
    s.once('error', fail);
  });
}

/** A real SIGTERM to a koogate process while requests, streams and websockets are open. */
describe('graceful shutdown on SIGTERM', () => {
  let upstream: TestUpstream;

  beforeAll(async () => {
    upstream = await startTestUpstream();
  });
  afterAll(() => upstream?.close());

  test('readyz 503 at once, no new connections, idle keep-alives closed, 20 slow requests complete, websockets 1001, exit 0', async () => {
    const stack = await startReplicaStack(upstream.url);
    try {
      const url = stack.replica.url;
      const port = Number(new URL(url).port);
      const cookie = await loginCookie(url, stack.sandbox);

      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { cookie } });
      await new Promise<void>((ok, fail) => {
        ws.once('message', () => ok());
        ws.once('error', fail);
      });
      const wsClosed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));

      // An idle keep-alive connection: one answer done, nothing in flight.
      const idle = await opened(port);
      const idleText = untilClosed(idle);
      idle.write(`GET /_koogate/healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
      await new Promise<void>((ok) => idle.once('data', () => ok()));

      // A busy keep-alive connection (a slow request in flight) stays open through the drain: readyz is
      // asked on it once shutdown has begun.
      const busy = await opened(port);
      const busyText = untilClosed(busy);
      busy.write(`GET /slow?ms=2500&busy=1 HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nCookie: ${cookie}\r\n\r\n`);

      const slow = Array.from({ length: 20 }, (_, i) => get(`${url}/slow?ms=2500&n=${i}`, { cookie, accept: 'application/json' }));
      await upstream.arrived('/slow', 21);

      stack.replica.child.kill('SIGTERM');
      await stack.replica.waitForLog((l) => l.msg === 'draining: no new connections');
      busy.write(`GET /_koogate/readyz HTTP/1.1\r\nHost: x\r\n\r\n`);

      // The listener no longer accepts.
      expect(await get(`${url}/_koogate/healthz`)).toEqual({ error: 'ECONNREFUSED' });
      // The idle keep-alive connection is closed by koogate, with nothing more on it.
      expect(await idleText).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"status":"ok","version":"[^"]+"\}$/);

      const done = await Promise.all(slow);
      expect(done).toEqual(Array.from({ length: 20 }, () => ({ status: 200, body: 'late' })));

      const pipelined = await busyText;
      const answers = pipelined.split(/(?=HTTP\/1\.1 )/);
      expect(answers).toHaveLength(2);
      expect(answers[0]).toMatch(/^HTTP\/1\.1 200[\s\S]*late$/);
      expect(answers[1]).toMatch(/^HTTP\/1\.1 503[\s\S]*connection: close[\s\S]*"reason":"shutting down"/i);

      expect(await wsClosed).toBe(1001);
      expect(await stack.replica.exited).toBe(0);
      expect(stack.replica.logs.join('\n')).not.toMatch(/grace period over|uncaught|unhandled/);
    } finally {
      await stack.stop();
    }
  }, 90_000);

  test('a request longer than KOOGATE_SHUTDOWN_GRACE_SECONDS is cut when the grace period ends; still exit 0', async () => {
    const stack = await startReplicaStack(upstream.url, { KOOGATE_SHUTDOWN_GRACE_SECONDS: '1' });
    try {
      const url = stack.replica.url;
      const cookie = await loginCookie(url, stack.sandbox);
      const before = upstream.seen.filter((r) => r.url.startsWith('/slow')).length;
      const pending = get(`${url}/slow?ms=600000`, { cookie, accept: 'application/json' });
      await upstream.arrived('/slow', before + 1);
      stack.replica.child.kill('SIGTERM');
      expect(await pending).toHaveProperty('error');
      expect(await stack.replica.exited).toBe(0);
      expect(stack.replica.logs.join('\n')).toMatch(/grace period over/);
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
