import { EventEmitter } from 'node:events';
import type { ToPrimary, ToWorker } from '../../src/cluster/messages';
import { WorkerLink } from '../../src/cluster/worker';
import type { Health } from '../../src/core/health';

/** The worker's end of the IPC channel; `primary` plays the other end. */
class FakeChannel extends EventEmitter {
  connected = true;
  readonly sent: ToPrimary[] = [];
  primary: (m: ToPrimary) => ToWorker | undefined = () => undefined;
  send(m: ToPrimary): boolean {
    this.sent.push(m);
    const answer = this.primary(m);
    if (answer) queueMicrotask(() => this.emit('message', answer));
    return true;
  }
}

const healthy: Health = { live: async () => ({ ok: true, body: { status: 'ok' } }), ready: async () => ({ ok: true, body: { status: 'ready', store: 'redis' } }) };
const storeDown: Health = { ...healthy, ready: async () => ({ ok: false, body: { status: 'unavailable', store: 'redis', reason: 'store unreachable' } }) };

function link(channel: FakeChannel, local: Health = healthy): WorkerLink {
  const l = new WorkerLink({ workerId: 3, local, storeKind: 'redis', channel, timeoutMs: 50 });
  l.start();
  return l;
}

describe('a worker answering healthz and readyz for the whole process', () => {
  test('healthz: up with the primary\'s counts of workers', async () => {
    const ch = new FakeChannel();
    ch.primary = (m) => (m.koogate === 'status' ? { koogate: 'status-answer', id: m.id, workers: { expected: 2, running: 1 } } : undefined);
    expect(await link(ch).health.live()).toEqual({ ok: true, body: { status: 'ok', worker: 3, workers: { expected: 2, running: 1 } } });
    expect(ch.sent).toEqual([{ koogate: 'status', id: 1, probe: 'live' }]);
  });

  test('a primary that does not answer, or is gone, makes both probes fail', async () => {
    const silent = link(new FakeChannel());
    expect(await silent.health.live()).toMatchObject({ ok: false, body: { status: 'unavailable', reason: 'primary not answering' } });
    expect(await silent.health.ready()).toMatchObject({ ok: false, body: { status: 'unavailable', reason: 'primary not answering' } });
    const gone = new FakeChannel();
    gone.connected = false;
    expect((await link(gone).health.live()).ok).toBe(false);
    expect(gone.sent).toEqual([]);
  });

  test('readyz: ready only while every running worker is', async () => {
    const ch = new FakeChannel();
    let ready = 2;
    ch.primary = (m) => (m.koogate === 'status' ? { koogate: 'status-answer', id: m.id, workers: { expected: 2, running: 2, ready }, reason: ready < 2 ? 'store unreachable' : undefined } : undefined);
    const l = link(ch);
    expect(await l.health.ready()).toEqual({ ok: true, body: { status: 'ready', store: 'redis', worker: 3, workers: { expected: 2, running: 2, ready: 2 } } });
    ready = 1;
    expect(await l.health.ready()).toEqual({ ok: false, body: { status: 'unavailable', store: 'redis', worker: 3, reason: 'store unreachable', workers: { expected: 2, running: 2, ready: 1 } } });
  });

  test('answers the primary\'s readiness probe from its own store check; ignores messages that are not the cluster\'s', async () => {
    const ch = new FakeChannel();
    link(ch, storeDown);
    ch.emit('message', { koogate: 'probe', id: 7 });
    ch.emit('message', { something: 'else' });
    ch.emit('message', 'text');
    await new Promise<void>((ok) => setImmediate(ok));
    expect(ch.sent).toEqual([{ koogate: 'probe-answer', id: 7, ready: false, reason: 'store unreachable' }]);
  });

  test('stop: pending questions are answered as unanswered, and probes are no longer answered', async () => {
    const ch = new FakeChannel();
    const l = new WorkerLink({ workerId: 1, local: healthy, storeKind: 'redis', channel: ch, timeoutMs: 60_000 });
    l.start();
    const pending = l.health.live();
    l.stop();
    expect((await pending).ok).toBe(false);
    ch.emit('message', { koogate: 'probe', id: 1 });
    await new Promise<void>((ok) => setImmediate(ok));
    expect(ch.sent.filter((m) => m.koogate === 'probe-answer')).toEqual([]);
  });

  test('hands the primary its metrics when asked, or says why it cannot', async () => {
    const ch = new FakeChannel();
    const series = [{ name: 'koogate_x_total', help: 'x', type: 'counter', aggregator: 'sum', values: [{ value: 3, labels: {} }] }];
    new WorkerLink({ workerId: 1, local: healthy, storeKind: 'redis', channel: ch, metrics: async () => series }).start();
    ch.emit('message', { koogate: 'metrics', id: 4 });
    await new Promise<void>((ok) => setImmediate(ok));
    expect(ch.sent).toEqual([{ koogate: 'metrics-answer', id: 4, metrics: series }]);

    const failing = new FakeChannel();
    new WorkerLink({ workerId: 2, local: healthy, storeKind: 'redis', channel: failing, metrics: async () => Promise.reject(new Error('collect failed')) }).start();
    failing.emit('message', { koogate: 'metrics', id: 5 });
    await new Promise<void>((ok) => setImmediate(ok));
    expect(failing.sent).toEqual([{ koogate: 'metrics-answer', id: 5, error: 'collect failed' }]);
  });
});
