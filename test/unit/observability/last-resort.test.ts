import { EventEmitter } from 'node:events';
import { installLastResort } from '../../../src/observability/last-resort';
import { createLogger } from '../../../src/observability/logger';

/** The handlers' decisions, on a stand-in process: what is logged, and when koogate is told to shut down. */
describe('installLastResort', () => {
  function setup() {
    const proc = new EventEmitter();
    const events: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('debug', (l) => {
      const line = JSON.parse(l) as Record<string, unknown>;
      lines.push(line);
      events.push(`log:${String(line.msg)}`);
    });
    installLastResort(proc, log, (reason) => void events.push(`fatal:${reason}`));
    return { proc, events, lines };
  }

  const failure = () => Object.assign(new Error('store lost at redis://app:pw-123@db:6379'), { code: 'ECONNRESET', refreshToken: 'rt-secret' });

  test('an unhandled rejection is logged as one error line and never shuts koogate down', () => {
    const { proc, events, lines } = setup();
    proc.emit('unhandledRejection', failure(), Promise.resolve());
    proc.emit('unhandledRejection', 'a plain string reason', Promise.resolve());
    expect(events).toEqual(['log:unhandled rejection; still serving', 'log:unhandled rejection; still serving']);
    expect(lines[0]).toMatchObject({ level: 'error', err: { name: 'Error', message: 'store lost at redis://[redacted]@db:6379', errorCode: 'ECONNRESET' } });
    expect(lines[1]).toMatchObject({ level: 'error', err: 'a plain string reason' });
  });

  test('an uncaught exception is logged first, then shuts koogate down once per exception', () => {
    const { proc, events, lines } = setup();
    proc.emit('uncaughtException', failure(), 'uncaughtException');
    expect(events).toEqual(['log:uncaught exception; shutting down', 'fatal:uncaughtException']);
    expect(lines[0]).toMatchObject({ level: 'error', err: { name: 'Error', errorCode: 'ECONNRESET' } });
    // A second one while stopping is reported too; main.ts's stop ignores the repeat.
    proc.emit('uncaughtException', new TypeError('again'), 'uncaughtException');
    expect(events.slice(2)).toEqual(['log:uncaught exception; shutting down', 'fatal:uncaughtException']);
  });

  test('nothing secret reaches the line: URL credentials cut, other fields of the error left out, the stack cut short', () => {
    const { proc, lines } = setup();
    const err = failure();
    err.stack = [`Error: ${err.message}`, ...Array.from({ length: 20 }, (_, i) => `    at frame${i} (redis://app:pw-123@db/x.js:1:1)`)].join('\n');
    proc.emit('uncaughtException', err, 'uncaughtException');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('pw-123');
    expect(text).not.toContain('rt-secret');
    const logged = lines[0]!.err as Record<string, unknown>;
    expect(Object.keys(logged).sort()).toEqual(['errorCode', 'message', 'name', 'stack']);
    expect(String(logged.stack).split('\n')).toHaveLength(6);
  });

  test('a thrown non-Error is logged as text', () => {
    const { proc, events, lines } = setup();
    proc.emit('uncaughtException', 42, 'uncaughtException');
    expect(lines[0]).toMatchObject({ err: '42' });
    expect(events).toContain('fatal:uncaughtException');
  });
});
