import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, SETTINGS } from '../../src/config/config';
import { configProblems, validEnv, type Env } from '../support/config-env';

const SESSION = 's'.repeat(40);
const KEY = 'k'.repeat(40);

/** A production environment that is safe: own encryption keys, Redis. */
function production(over: Env = {}): Env {
  return validEnv({ NODE_ENV: 'production', KOOGATE_UPSTREAM_URL: 'http://isv-app:3000', KOOGATE_SESSION_SECRET: SESSION, KOOGATE_ENCRYPTION_KEYS: KEY, REDIS_URL: 'redis://redis:6379', ...over });
}

const problems = (env: Env): string => configProblems(env).join('\n');

describe('production refuses what would lose data on a restart', () => {
  test('a safe production environment is accepted', () => {
    expect(loadConfig(production()).encryptionSecrets).toEqual([KEY]);
  });

  test('without KOOGATE_ENCRYPTION_KEYS: refused, naming the variable, its _FILE variant and what is accepted', () => {
    const text = problems(production({ KOOGATE_ENCRYPTION_KEYS: undefined }));
    expect(text).toContain('KOOGATE_ENCRYPTION_KEYS (or KOOGATE_ENCRYPTION_KEYS_FILE) is required with NODE_ENV=production');
    expect(text).toContain('32+ characters');
  });

  test('an encryption key equal to a session secret: refused, without printing either', () => {
    const text = problems(production({ KOOGATE_ENCRYPTION_KEYS: `${KEY},${SESSION}` }));
    expect(text).toContain('KOOGATE_ENCRYPTION_KEYS must be independent of KOOGATE_SESSION_SECRET');
    expect(text).not.toContain(SESSION);
    expect(text).not.toContain(KEY);
  });

  test('no Redis: refused unless KOOGATE_STORE=memory says so', () => {
    expect(problems(production({ REDIS_URL: undefined }))).toContain('set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, or KOOGATE_STORE=memory');
    expect(loadConfig(production({ REDIS_URL: undefined, KOOGATE_STORE: 'memory' })).redis).toBeUndefined();
  });

  test('KOOGATE_STORE: redis without a topology and memory with one contradict; other values name the accepted ones', () => {
    expect(problems(production({ REDIS_URL: undefined, KOOGATE_STORE: 'redis' }))).toContain('KOOGATE_STORE=redis needs REDIS_URL');
    expect(problems(production({ KOOGATE_STORE: 'memory' }))).toContain('KOOGATE_STORE=memory contradicts the Redis settings');
    expect(problems(production({ KOOGATE_STORE: 'disk' }))).toMatch(/KOOGATE_STORE must be auto, redis or memory \(got "disk"\)/);
  });

  test('outside production the demo-style derivation stays: the session secret seals', () => {
    const c = loadConfig(production({ NODE_ENV: undefined, KOOGATE_ENCRYPTION_KEYS: undefined, REDIS_URL: undefined }));
    expect(c.encryptionSecrets).toEqual([SESSION]);
  });
});

describe('start-up errors name the variable, the value and what is accepted', () => {
  test.each(['yes', '10.0.0.0/33x', 'loopback,bogus'])('KOOGATE_TRUST_PROXY=%s', (v) => {
    const text = problems(production({ KOOGATE_TRUST_PROXY: v }));
    expect(text).toContain('KOOGATE_TRUST_PROXY must be true, false, a hop count, or comma-separated addresses');
    expect(text).toContain(`(got "${v}"`);
  });

  test.each(['loopback', '10.0.0.0/8', '10.0.0.1, 192.168.0.0/255.255.0.0', 'loopback,uniquelocal', '::1', 'fd00::/8', '2'])('KOOGATE_TRUST_PROXY=%s is accepted', (v) => {
    expect(() => loadConfig(production({ KOOGATE_TRUST_PROXY: v }))).not.toThrow();
  });

  test('KOOGATE_METRICS_PORT: a port, never the public one', () => {
    expect(problems(production({ KOOGATE_METRICS_PORT: 'nine' }))).toContain('KOOGATE_METRICS_PORT must be a port number from 0 to 65535 (got "nine")');
    expect(problems(production({ PORT: '9464', KOOGATE_METRICS_PORT: '9464' }))).toContain('KOOGATE_METRICS_PORT must differ from PORT');
    expect(loadConfig(production({ KOOGATE_METRICS_PORT: '9464' })).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig(production()).metrics).toBeUndefined();
  });
});

describe('every secret setting has a _FILE variant', () => {
  const SECRETS = ['KOOGATE_SESSION_SECRET', 'KOOGATE_ENCRYPTION_KEYS', 'KOOGATE_KIT_ACCESS_KEY', 'KOOGATE_BASIC_ACCESS_KEY', 'KOOGATE_API_TOKEN', 'KOOGATE_ADMIN_TOKEN', 'KOOGATE_WEBHOOK_SECRET', 'KOOGATE_RSA_PRIVATE_KEY'];
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'koogate-secrets-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(SECRETS)('%s_FILE is a documented setting', (env) => {
    expect(SETTINGS.map((s) => s.env)).toContain(`${env}_FILE`);
  });

  test('each is read from its file (a trailing newline as files end), and an unreadable file names the variable', () => {
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, `${text}\n`);
      return p;
    };
    const c = loadConfig(
      production({
        KOOGATE_SESSION_SECRET: undefined,
        KOOGATE_SESSION_SECRET_FILE: file('session', 'f'.repeat(40)),
        KOOGATE_ENCRYPTION_KEYS: undefined,
        KOOGATE_ENCRYPTION_KEYS_FILE: file('keys', `${'a'.repeat(40)},${'b'.repeat(40)}`),
        KOOGATE_KIT_ACCESS_KEY: undefined,
        KOOGATE_KIT_ACCESS_KEY_FILE: file('kit', 'kit-key-from-file'),
        KOOGATE_BASIC_ACCESS_KEY_FILE: file('basic', 'basic-key-from-file'),
        KOOGATE_API_TOKEN_FILE: file('api', 'p'.repeat(40)),
        KOOGATE_ADMIN_TOKEN_FILE: file('admin', 'q'.repeat(40)),
        KOOGATE_WEBHOOK_URL: 'https://isv-app.example.com/koogate/events',
        KOOGATE_WEBHOOK_SECRET_FILE: file('webhook', 'w'.repeat(40)),
      }),
    );
    expect(c.sessionSecrets).toEqual(['f'.repeat(40)]);
    expect(c.encryptionSecrets).toEqual(['a'.repeat(40), 'b'.repeat(40)]);
    expect(c.kitAccessKey).toBe('kit-key-from-file');
    expect(c.basicAccessKey).toBe('basic-key-from-file');
    expect(c.apiToken).toBe('p'.repeat(40));
    expect(c.adminToken).toBe('q'.repeat(40));
    expect(c.webhook?.secrets).toEqual(['w'.repeat(40)]);
    const text = problems(production({ KOOGATE_ENCRYPTION_KEYS: undefined, KOOGATE_ENCRYPTION_KEYS_FILE: join(dir, 'missing') }));
    expect(text).toContain('KOOGATE_ENCRYPTION_KEYS_FILE cannot be read (ENOENT');
  });
});
