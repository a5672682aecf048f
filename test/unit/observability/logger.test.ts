import { createLogger, redact, silentLogger } from '../../../src/observability/logger';

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

  test('the silent logger writes nothing and its children are silent', () => {
    expect(() => silentLogger.child({ a: 1 }).error('x', { clientSecret: 's' })).not.toThrow();
  });
});
