import { PassThrough } from 'node:stream';
import { silentLogger } from '../../../src/observability/logger';
import { WS_CLOSE_SESSION_ENDED, WebSocketRegistry } from '../../../src/proxy/ws-registry';
import type { AuthOutcome } from '../../../src/sessions/authenticator';

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
