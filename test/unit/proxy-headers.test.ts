import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { silentLogger } from '../../src/observability/logger';
import { answerHeaders } from '../../src/proxy/exchange';
import { endToEndRequestHeaders, setForwarded } from '../../src/proxy/headers';
import { compileTrust } from '../../src/proxy/trust';
import { WS_CLOSE_SESSION_ENDED, WebSocketRegistry } from '../../src/proxy/ws-registry';
import type { AuthOutcome } from '../../src/sessions/authenticator';

const reqFrom = (remote: string, headers: Record<string, string>) => ({ socket: { remoteAddress: remote }, headers }) as unknown as IncomingMessage;

describe('X-Forwarded-* and the trusted-proxy setting', () => {
  const client = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', host: 'koogate:8080' };

  test('behind a trusted load balancer its values are kept and extended', () => {
    const out: Record<string, string | string[]> = {};
    setForwarded(out, reqFrom('10.0.0.5', client), compileTrust('10.0.0.0/8'));
    expect(out).toEqual({ 'x-forwarded-for': '203.0.113.7, 10.0.0.5', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' });
  });

  test('from an untrusted peer they are replaced by what koogate saw', () => {
    const out: Record<string, string | string[]> = {};
    setForwarded(out, reqFrom('198.51.100.9', client), compileTrust('10.0.0.0/8'));
    expect(out).toEqual({ 'x-forwarded-for': '198.51.100.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'koogate:8080' });
  });

  test.each([
    [true, '198.51.100.9', true],
    [false, '10.0.0.5', false],
    [1, '198.51.100.9', true],
    ['loopback', '127.0.0.1', true],
    ['loopback', '10.0.0.5', false],
    ['10.0.0.1, 10.0.0.2', '10.0.0.2', true],
  ] as const)('trust %p, peer %s → %p', (setting, peer, trusted) => {
    expect(compileTrust(setting)(peer, 0)).toBe(trusted);
  });
});

describe('hop-by-hop fields', () => {
  test('are dropped from requests, with every field the Connection header names', () => {
    const out = endToEndRequestHeaders({ connection: 'keep-alive, X-Trace', 'x-trace': '1', 'keep-alive': 'timeout=5', te: 'trailers', upgrade: 'h2c', 'proxy-authorization': 'Basic x', accept: 'a', cookie: 'c=1' });
    expect(out).toEqual({ accept: 'a', cookie: 'c=1' });
  });

  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'));

  test('are dropped from answers (whatever their case, and those Connection names), repeated Set-Cookie kept in order', () => {
    const out = answerHeaders(raw('Connection', 'X-Hop, keep-alive', 'x-hop', '1', 'Transfer-Encoding', 'chunked', 'Trailer', 'x', 'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'set-cookie', 'b=2', 'TE', 'x', 'Upgrade', 'h2c'), undefined);
    expect(out).toEqual({ list: ['Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'set-cookie', 'b=2'], eventStream: false });
  });

  test("koogate's own Set-Cookie goes out beside the app's, which it never replaces", () => {
    expect(answerHeaders(raw('Set-Cookie', 'app=1', 'Content-Length', '2'), 'koogate.sid=s%3Ax.y; Path=/').list).toEqual(['Set-Cookie', 'app=1', 'Content-Length', '2', 'set-cookie', 'koogate.sid=s%3Ax.y; Path=/']);
  });

  test('an event stream is recognised by its content type (so its headers are flushed at once)', () => {
    expect(answerHeaders(raw('content-type', 'text/event-stream; charset=utf-8'), undefined).eventStream).toBe(true);
    expect(answerHeaders(raw('Content-Type', 'text/html'), undefined).eventStream).toBe(false);
  });
});

describe('open websockets follow their session', () => {
  const user = { tenantId: 't-acme', userName: 'lina' };

  function conn(sid: string, userName = 'lina') {
    const client = new PassThrough();
    const upstream = new PassThrough();
    const written: Buffer[] = [];
    client.on('data', (b: Buffer) => written.push(b));
    return { conn: { sid, cookie: `koogate.sid=${sid}`, user: { ...user, userName }, client, upstream }, written, closed: new Promise<void>((ok) => client.on('finish', ok)) };
  }

  const closeCode = (written: Buffer[]) => {
    const frame = Buffer.concat(written);
    expect(frame[0]).toBe(0x88); // FIN + close
    return frame.readUInt16BE(2);
  };

  test('the periodic re-check closes a socket whose session expired, with code 4401, and keeps the others', async () => {
    const live = new Set(['s-live']);
    const registry = new WebSocketRegistry(async (cookie): Promise<AuthOutcome> => {
      const sid = String(cookie).split('=')[1]!;
      return live.has(sid) ? { kind: 'user', sid, user } : { kind: 'ended', reason: 'idle timeout', clearCookie: '' };
    }, 3_600_000, silentLogger);
    try {
      const ended = conn('s-ended');
      const alive = conn('s-live');
      registry.add(ended.conn);
      registry.add(alive.conn);
      await registry.sweep();
      await ended.closed;
      expect(closeCode(ended.written)).toBe(WS_CLOSE_SESSION_ENDED);
      expect(ended.conn.upstream.destroyed).toBe(true);
      expect(alive.written).toHaveLength(0);
      expect(registry.size).toBe(1);
    } finally {
      registry.stop();
    }
  });

  test('an invalidation closes the sockets it names at once; a role change closes nothing', async () => {
    const registry = new WebSocketRegistry(async () => ({ kind: 'anonymous' }), 3_600_000, silentLogger);
    try {
      const lina = conn('s1');
      const bob = conn('s2', 'bob');
      registry.add(lina.conn);
      registry.add(bob.conn);
      registry.apply({ kind: 'user', tenantId: 't-acme', userName: 'lina', ended: false });
      expect(registry.size).toBe(2);
      registry.apply({ kind: 'user', tenantId: 't-acme', userName: 'lina', ended: true });
      await lina.closed;
      expect(closeCode(lina.written)).toBe(WS_CLOSE_SESSION_ENDED);
      expect(registry.size).toBe(1);
      registry.apply({ kind: 'tenant', tenantId: 't-acme', ended: true });
      await bob.closed;
      expect(registry.size).toBe(0);
    } finally {
      registry.stop();
    }
  });
});
