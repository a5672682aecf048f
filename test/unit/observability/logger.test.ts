import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createLogger, redact, silentLogger, type AccessRecord } from '../../../src/observability/logger';

describe('logger redaction', () => {
  const SECRET_FIELDS = [
    'clientSecret',
    'client_secret',
    'secret',
    'access_token',
    'accessToken',
    'refreshToken',
    'refresh_token',
    'id_token',
    'token',
    'authorization',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'Cookie',
    'set-cookie',
    'x-sign',
    'X-Sign',
    'sign',
    'code',
    'password',
    'REDIS_PASSWORD',
    'privateKey',
    'accessKey',
    'kitAccessKey',
    'authToken',
  ];
  const KEPT = {
    tenantId: 't-acme',
    userName: 'zhangwei',
    appId: 'demo-app-0001',
    instanceId: 'inst-1',
    resultCode: '000001',
    oaepVariant: 'sha1',
    signedForm: 'raw',
    'x-nonce': 'abc',
    'x-timestamp': '1700000000000',
    path: '/me',
    status: 401,
  };

  function capture() {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => void lines.push(l));
    const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    return { log, lines, parsed };
  }

  test.each(SECRET_FIELDS)('redacts %s, whatever the value type', (field) => {
    const { log, lines, parsed } = capture();
    log.info('event', { [field]: 'SENSITIVE-VALUE-123', tenantId: 't-acme' });
    log.warn('event', { [field]: 987654321 });
    log.error('event', { [field]: { nested: 'SENSITIVE-OBJECT-456' } });
    expect(lines.join('')).not.toMatch(/SENSITIVE|987654321/);
    for (const line of parsed()) expect(line[field]).toBe('[redacted]');
    expect(parsed()[0]!.tenantId).toBe('t-acme');
  });

  test('keeps tenantId, userName and the other fields worth a log line', () => {
    const { log, parsed } = capture();
    log.info('kit sync applied', KEPT);
    expect(parsed()[0]).toMatchObject({ level: 'info', msg: 'kit sync applied', ...KEPT });
  });

  test('absent, null and boolean values of secret-named fields are shown as they are (they reveal nothing)', () => {
    expect(redact({ clientSecret: undefined, refreshToken: null, hasToken: true, cookie: false })).toEqual({
      clientSecret: undefined,
      refreshToken: null,
      hasToken: true,
      cookie: false,
    });
  });

  test('fields of child loggers are redacted too', () => {
    const { log, lines, parsed } = capture();
    log.child({ authorization: 'Bearer SENSITIVE-CHILD', tenantId: 't-1' }).child({ userName: 'u' }).info('x', { code: 'SENSITIVE-CODE' });
    expect(lines.join('')).not.toContain('SENSITIVE');
    expect(parsed()[0]).toMatchObject({ authorization: '[redacted]', code: '[redacted]', tenantId: 't-1', userName: 'u' });
  });

  test('an Error value is logged by name, message and code, not as an empty object', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(redact({ err })).toEqual({ err: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' } });
  });

  test('one JSON object per line, with time, level and message; below-level lines are dropped', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => void lines.push(l));
    log.debug('d');
    log.info('i');
    log.warn('w', { tenantId: 't' });
    log.error('e');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.endsWith('\n')).toBe(true);
      expect(l.slice(0, -1)).not.toContain('\n');
    }
    const w = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(w).toMatchObject({ level: 'warn', msg: 'w', tenantId: 't' });
    expect(Date.parse(String(w.time))).not.toBeNaN();
  });

  test('a line holds the head, the base fields and the event fields in that order; a repeated name keeps the later value once', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => void lines.push(l)).child({ log: 'access', worker: 2 });
    log.info('request', { requestId: 'r1', path: '/a"b\\c', status: 200, gone: undefined, nested: { token: 'x', n: [1] } });
    log.info('no fields');
    log.info('clash', { log: 'mine', msg: 'overridden', level: 'nope', extra: 1 });
    log.info('empty', {});
    const [first, bare, clash, empty] = lines.map((l) => l.slice(0, -1));
    const keys = (json: string) => Object.keys(JSON.parse(json) as object);
    expect(keys(first!)).toEqual(['time', 'level', 'msg', 'log', 'worker', 'requestId', 'path', 'status', 'nested']);
    expect(JSON.parse(first!)).toMatchObject({ msg: 'request', log: 'access', worker: 2, path: '/a"b\\c', nested: { token: '[redacted]', n: [1] } });
    expect(JSON.parse(bare!)).toEqual({ time: expect.any(String), level: 'info', msg: 'no fields', log: 'access', worker: 2 });
    // The event's own value wins, and the name appears once in the line itself.
    expect(JSON.parse(clash!)).toMatchObject({ log: 'mine', msg: 'overridden', level: 'nope', extra: 1 });
    expect(clash!.match(/"log":/g)).toHaveLength(1);
    expect(clash!.match(/"msg":/g)).toHaveLength(1);
    expect(JSON.parse(empty!)).toEqual({ time: expect.any(String), level: 'info', msg: 'empty', log: 'access', worker: 2 });
  });

  test('the access line is the line info("request", record) writes, field for field and in order', () => {
    const records: AccessRecord[] = [
      { requestId: 'r-1', kind: 'proxy', method: 'GET', path: '/a', status: 200, ms: 1.5, bytes: 120, tenantId: 't-acme', userName: 'zhangwei' },
      { requestId: 'r-2', kind: 'own', method: undefined, path: '/_koogate/healthz', status: 0, ms: 0, bytes: 0, aborted: true },
      { requestId: 'r-3', kind: 'proxy', method: 'POST', path: '/x"\\\u0000\n/https://u:pw@evil.example/', status: 502, ms: 12.3, bytes: 9, tenantId: '租户\u2028', userName: 'a@b' },
    ];
    for (const base of [{ log: 'access' }, { log: 'access', worker: 2 }, { status: 'clash' }]) {
      const direct: string[] = [];
      const general: string[] = [];
      const a = createLogger('info', (l) => void direct.push(l)).child(base);
      const b = createLogger('info', (l) => void general.push(l)).child(base);
      for (const r of records) {
        a.request(r);
        b.info('request', { ...r });
      }
      const strip = (l: string) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        delete o.time;
        return JSON.stringify(o);
      };
      expect(direct.map(strip)).toEqual(general.map(strip));
      expect(direct.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
      expect(direct.join('')).not.toContain(':pw@');
    }
  });

  test('the access line respects the level and the silent logger', () => {
    const lines: string[] = [];
    createLogger('warn', (l) => void lines.push(l)).request({ requestId: 'r', kind: 'proxy', method: 'GET', path: '/', status: 200, ms: 1, bytes: 1 });
    expect(lines).toEqual([]);
    expect(() => silentLogger.request({ requestId: 'r', kind: 'proxy', method: 'GET', path: '/', status: 200, ms: 1, bytes: 1 })).not.toThrow();
  });

  test('the time is the current time, to the millisecond', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => void lines.push(l));
    const before = Date.now();
    log.info('a');
    const after = Date.now();
    const t = Date.parse(String((JSON.parse(lines[0]!) as { time: string }).time));
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  test('the silent logger writes nothing and its children are silent', () => {
    expect(() => silentLogger.child({ a: 1 }).error('x', { clientSecret: 's' })).not.toThrow();
  });
});

describe('buffered stdout', () => {
  const dist = join(__dirname, '..', '..', '..', 'dist', 'src', 'observability', 'logger.js');
  /** Runs `body` in a child node with `sink` = bufferedStdout(), and returns what its stdout received, chunk by chunk. */
  const run = (body: string): Promise<{ chunks: string[]; code: number | null }> =>
    new Promise((done, fail) => {
      const child = spawn(process.execPath, ['-e', `const sink = require(${JSON.stringify(dist)}).bufferedStdout(1, 60_000);\n${body}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: string[] = [];
      child.stdout.on('data', (b: Buffer) => chunks.push(b.toString()));
      child.once('error', fail);
      child.once('close', (code) => done({ chunks, code }));
    });

  test('lines wait for the flush and go out together; what waits at exit is written then', async () => {
    // The flush interval is a minute: every line below reaches stdout only through the exit write.
    const { chunks, code } = await run("for (let i = 0; i < 500; i++) sink(`line ${i}\\n`); setTimeout(() => process.exit(3), 20);");
    expect(code).toBe(3);
    expect(chunks.join('').split('\n').filter(Boolean)).toEqual(Array.from({ length: 500 }, (_, i) => `line ${i}`));
    expect(chunks.length).toBeLessThanOrEqual(2);
  });

  test('a process that simply runs out of work still writes every line (the flush timer does not keep it alive)', async () => {
    const { chunks, code } = await run("sink('a\\n'); sink('b\\n');");
    expect(code).toBe(0);
    expect(chunks.join('')).toBe('a\nb\n');
  });

  test('64 KiB waiting are written at once, without waiting for the timer', async () => {
    const { chunks } = await run("const big = 'x'.repeat(1023) + '\\n'; for (let i = 0; i < 64; i++) sink(big); setTimeout(() => { process.stdout.write('MARK\\n'); process.exit(0); }, 20);");
    const all = chunks.join('');
    // The 64 full lines went out before MARK, which the exit did not have to write.
    expect(all.indexOf('MARK')).toBe(64 * 1024);
  });

  test('with the reader gone (EPIPE), the exit write fails quietly: process.exit still ends the process, and the last-resort handler never hears of it', async () => {
    // The reader closes its end first; then the child, told on stdin, queues a line and exits with lines waiting.
    const body =
      "process.on('uncaughtException', (e) => { process.stderr.write('UNCAUGHT ' + e.message + '\\n'); process.exitCode = 9; });" +
      "process.stdin.once('data', () => { sink('last\\n'); process.exit(4); });";
    const child = spawn(process.execPath, ['-e', `const sink = require(${JSON.stringify(dist)}).bufferedStdout(1, 60_000);\n${body}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const closed = new Promise<number | null>((ok) => child.once('close', (code) => ok(code)));
    await new Promise<void>((ok) => {
      child.stdout.once('close', () => ok());
      child.stdout.destroy();
    });
    child.stdin.end('go\n');
    expect(await closed).toBe(4);
    expect(stderr).toBe('');
  });
});
