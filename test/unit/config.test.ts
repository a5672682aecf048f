import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_LOGIN_URL, isUnconfigured, loadConfig, SETTINGS, type Config } from '../../src/config/config';
import { configProblems, rsaPrivateKeyPem, validEnv } from '../support/config-env';

const REPO = join(__dirname, '..', '..');

const REQUIRED = ['KOOGATE_PUBLIC_URL', 'KOOGATE_UPSTREAM_URL', 'KOOGATE_APP_ID', 'KOOGATE_KIT_ACCESS_KEY', 'KOOGATE_SESSION_SECRET'];

describe('loadConfig: an empty environment', () => {
  test('throws one ConfigError naming every required setting, the RSA key included', () => {
    const problems = configProblems({});
    const text = problems.join('\n');
    for (const name of REQUIRED) expect(text).toContain(name);
    expect(text).toContain('KOOGATE_RSA_PRIVATE_KEY');
    expect(text).toContain('KOOGATE_RSA_PRIVATE_KEY_FILE');
    // Every setting SETTINGS marks required, even ones added after this test was written.
    for (const s of SETTINGS.filter((x) => x.required)) expect(text).toContain(s.env);
    // One problem per missing setting: nothing else is wrong with an empty environment.
    expect(problems).toHaveLength(REQUIRED.length + 1);
  });

  test('the required settings are exactly those marked in SETTINGS', () => {
    expect(SETTINGS.filter((s) => s.required).map((s) => s.env).sort()).toEqual([...REQUIRED, 'KOOGATE_RSA_PRIVATE_KEY'].sort());
  });

  test('blank values count as missing', () => {
    const blank = Object.fromEntries(REQUIRED.map((n) => [n, '   ']));
    const text = configProblems({ ...blank, KOOGATE_RSA_PRIVATE_KEY: ' ' }).join('\n');
    for (const name of REQUIRED) expect(text).toContain(name);
    expect(text).toContain('KOOGATE_RSA_PRIVATE_KEY');
  });

  test('a missing required setting is named even when the rest is valid', () => {
    for (const name of REQUIRED) {
      const problems = configProblems(validEnv({ [name]: undefined }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(name);
    }
  });
});

describe('loadConfig: a full valid environment', () => {
  let c: Config;
  beforeAll(() => {
    c = loadConfig(validEnv());
  });

  test('parses the given values', () => {
    expect(c.publicUrl.toString()).toBe('https://app.example.com/');
    expect(c.upstream.url.toString()).toBe('http://127.0.0.1:3000/');
    expect(c.appId).toBe('app-0001');
    expect(c.kitAccessKey).toBe('AK_0123456789abcdef');
    expect(c.rsaPrivateKeyPem).toBe(rsaPrivateKeyPem());
    expect(c.sessionSecrets).toEqual(['s'.repeat(40)]);
  });

  test('fills the documented defaults', () => {
    expect(c).toMatchObject({
      port: 8080,
      workers: 1,
      host: '0.0.0.0',
      oaepVariant: 'auto',
      cookieName: 'koogate.sid',
      trustProxy: false,
      renewSkewSeconds: 120,
      marketplaceTimeoutMs: 5000,
      allowHttpMarketplace: false,
      kitWindowSeconds: 60,
      publicPaths: [],
      sessionAbsoluteSeconds: 2592000,
      logLevel: 'info',
    });
    expect(c.redis).toBeUndefined();
    expect(c.seedFile).toBeUndefined();
    // Encryption at rest falls back to the session secrets.
    expect(c.encryptionSecrets).toEqual(c.sessionSecrets);
    // KOOGATE_COOKIE_SECURE=auto: Secure because the public URL is https.
    expect(c.cookieSecure).toBe(true);
  });

  test('the defaults agree with SETTINGS (what the README shows)', () => {
    const def = (env: string) => SETTINGS.find((s) => s.env === env)?.default;
    expect(String(c.port)).toBe(def('PORT'));
    expect(String(c.workers)).toBe(def('KOOGATE_WORKERS'));
    expect(c.host).toBe(def('KOOGATE_HOST'));
    expect(c.oaepVariant).toBe(def('KOOGATE_OAEP_VARIANT'));
    expect(c.cookieName).toBe(def('KOOGATE_COOKIE_NAME'));
    expect(String(c.renewSkewSeconds)).toBe(def('KOOGATE_RENEW_SKEW_SECONDS'));
    expect(String(c.marketplaceTimeoutMs)).toBe(def('KOOGATE_MARKETPLACE_TIMEOUT_MS'));
    expect(String(c.allowHttpMarketplace)).toBe(def('KOOGATE_ALLOW_HTTP_MARKETPLACE'));
    expect(String(c.kitWindowSeconds)).toBe(def('KOOGATE_KIT_WINDOW_SECONDS'));
    expect(String(c.sessionAbsoluteSeconds)).toBe(def('KOOGATE_SESSION_MAX_AGE_SECONDS'));
    expect(c.logLevel).toBe(def('KOOGATE_LOG_LEVEL'));
    expect(String(c.trustProxy)).toBe(def('KOOGATE_TRUST_PROXY'));
  });

  test('the default login URL is the real unified login with the appId substituted (URL-encoded)', () => {
    expect(c.loginUrl).toBe('https://macroverse.huaweicloud.com/unified-login/#/portal-login?ind=UNOP&appId=app-0001');
    expect(c.loginUrl).toBe(DEFAULT_LOGIN_URL.replace('{appId}', 'app-0001'));
    expect(loadConfig(validEnv({ KOOGATE_APP_ID: 'a b&c' })).loginUrl).toMatch(/appId=a%20b%26c$/);
    expect(loadConfig(validEnv({ KOOGATE_LOGIN_URL: 'https://login.example/{appId}/x?app={appId}' })).loginUrl).toBe('https://login.example/app-0001/x?app=app-0001');
  });

  test('values are trimmed; blank optional values take the default', () => {
    const t = loadConfig(validEnv({ PORT: ' 9000 ', KOOGATE_APP_ID: '  app-0001 ', KOOGATE_LOG_LEVEL: '  ', KOOGATE_RENEW_SKEW_SECONDS: '' }));
    expect(t.port).toBe(9000);
    expect(t.appId).toBe('app-0001');
    expect(t.logLevel).toBe('info');
    expect(t.renewSkewSeconds).toBe(120);
  });

  test('lists: comma-separated, trimmed, empty items dropped', () => {
    const t = loadConfig(validEnv({ KOOGATE_SESSION_SECRET: ` ${'a'.repeat(32)} , ${'b'.repeat(32)},`, KOOGATE_PUBLIC_PATHS: '/health, /static/* ,,/' }));
    expect(t.sessionSecrets).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
    expect(t.publicPaths).toEqual(['/health', '/static/*', '/']);
  });

  test('explicit values override the defaults', () => {
    const t = loadConfig(
      validEnv({
        PORT: '0',
        REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
        KOOGATE_OAEP_VARIANT: 'sha1',
        KOOGATE_COOKIE_SECURE: 'false',
        KOOGATE_TRUST_PROXY: '2',
        KOOGATE_ALLOW_HTTP_MARKETPLACE: 'yes',
        KOOGATE_ENCRYPTION_KEYS: 'e'.repeat(32),
        KOOGATE_LOG_LEVEL: 'debug',
      }),
    );
    expect(t).toMatchObject({ port: 0, oaepVariant: 'sha1', cookieSecure: false, trustProxy: 2, allowHttpMarketplace: true, encryptionSecrets: ['e'.repeat(32)], logLevel: 'debug' });
    expect(t.redis).toEqual({ mode: 'single', url: 'rediss://user:pw@redis.internal:6380/2' });
  });

  test('cookieSecure auto follows the public URL scheme', () => {
    expect(loadConfig(validEnv({ KOOGATE_PUBLIC_URL: 'http://localhost:8080' })).cookieSecure).toBe(false);
    expect(loadConfig(validEnv({ KOOGATE_PUBLIC_URL: 'http://localhost:8080', KOOGATE_COOKIE_SECURE: 'true' })).cookieSecure).toBe(true);
  });

  test('the RSA key may come with literal \\n (one-line env files) or from a file', () => {
    const oneLine = rsaPrivateKeyPem().replace(/\n/g, '\\n');
    expect(loadConfig(validEnv({ KOOGATE_RSA_PRIVATE_KEY: oneLine })).rsaPrivateKeyPem).toBe(rsaPrivateKeyPem());
    const dir = mkdtempSync(join(tmpdir(), 'koogate-config-'));
    try {
      const file = join(dir, 'key.pem');
      writeFileSync(file, rsaPrivateKeyPem());
      expect(loadConfig(validEnv({ KOOGATE_RSA_PRIVATE_KEY: undefined, KOOGATE_RSA_PRIVATE_KEY_FILE: file })).rsaPrivateKeyPem).toBe(rsaPrivateKeyPem());
      const problems = configProblems(validEnv({ KOOGATE_RSA_PRIVATE_KEY: undefined, KOOGATE_RSA_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }));
      expect(problems.join('\n')).toMatch(/KOOGATE_RSA_PRIVATE_KEY_FILE.*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(['KOOGATE_KIT_ACCESS_KEY', 'KOOGATE_SESSION_SECRET', 'KOOGATE_WEBHOOK_SECRET', 'KOOGATE_ADMIN_TOKEN'])('%s_FILE naming an empty or blank file is refused, never read as an empty secret', (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'koogate-config-'));
    try {
      for (const content of ['', ' \n\t\n']) {
        const file = join(dir, 'empty');
        writeFileSync(file, content);
        const problems = configProblems(validEnv({ [name]: undefined, [`${name}_FILE`]: file }));
        expect(problems.join('\n')).toContain(`${name}_FILE names an empty file (${file})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loadConfig: bad values are named', () => {
  test.each<[string, Record<string, string>, RegExp]>([
    ['PORT not a number', { PORT: 'abc' }, /PORT/],
    ['PORT out of range', { PORT: '70000' }, /PORT/],
    ['PORT negative', { PORT: '-1' }, /PORT/],
    ['PORT fractional', { PORT: '80.5' }, /PORT/],
    ['REDIS_URL http://', { REDIS_URL: 'http://x' }, /REDIS_URL/],
    ['REDIS_URL without scheme', { REDIS_URL: 'redis.internal:6379' }, /REDIS_URL/],
    ['short session secret', { KOOGATE_SESSION_SECRET: 'short' }, /KOOGATE_SESSION_SECRET/],
    ['one short secret in a rotation list', { KOOGATE_SESSION_SECRET: `${'a'.repeat(40)},short` }, /KOOGATE_SESSION_SECRET/],
    ['short encryption key', { KOOGATE_ENCRYPTION_KEYS: 'short' }, /KOOGATE_ENCRYPTION_KEYS/],
    ['bad OAEP variant', { KOOGATE_OAEP_VARIANT: 'sha512' }, /KOOGATE_OAEP_VARIANT/],
    ['public path without leading slash', { KOOGATE_PUBLIC_PATHS: '/ok,health' }, /KOOGATE_PUBLIC_PATHS.*health/],
    ['public URL not http(s)', { KOOGATE_PUBLIC_URL: 'ftp://app.example.com' }, /KOOGATE_PUBLIC_URL/],
    ['public URL not a URL', { KOOGATE_PUBLIC_URL: 'app.example.com' }, /KOOGATE_PUBLIC_URL/],
    ['upstream URL not a URL', { KOOGATE_UPSTREAM_URL: 'localhost:3000' }, /KOOGATE_UPSTREAM_URL/],
    ['bad boolean', { KOOGATE_ALLOW_HTTP_MARKETPLACE: 'sometimes' }, /KOOGATE_ALLOW_HTTP_MARKETPLACE/],
    ['bad cookie secure', { KOOGATE_COOKIE_SECURE: 'maybe' }, /KOOGATE_COOKIE_SECURE/],
    ['bad log level', { KOOGATE_LOG_LEVEL: 'verbose' }, /KOOGATE_LOG_LEVEL/],
    ['kit window zero', { KOOGATE_KIT_WINDOW_SECONDS: '0' }, /KOOGATE_KIT_WINDOW_SECONDS/],
    ['marketplace timeout too small', { KOOGATE_MARKETPLACE_TIMEOUT_MS: '5' }, /KOOGATE_MARKETPLACE_TIMEOUT_MS/],
    ['renew skew not a number', { KOOGATE_RENEW_SKEW_SECONDS: 'two minutes' }, /KOOGATE_RENEW_SKEW_SECONDS/],
    ['session max age too small', { KOOGATE_SESSION_MAX_AGE_SECONDS: '1' }, /KOOGATE_SESSION_MAX_AGE_SECONDS/],
    ['RSA key not a PEM private key', { KOOGATE_RSA_PRIVATE_KEY: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC' }, /RSA private key/],
    ['RSA public key instead of private', { KOOGATE_RSA_PRIVATE_KEY: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, /RSA private key/],
  ])('%s', (_name, over, message) => {
    const problems = configProblems(validEnv(over));
    expect(problems.join('\n')).toMatch(message);
  });

  test('several bad values: every one is named in one error', () => {
    const text = configProblems(validEnv({ PORT: 'abc', REDIS_URL: 'http://x', KOOGATE_SESSION_SECRET: 'short', KOOGATE_OAEP_VARIANT: 'md5', KOOGATE_PUBLIC_PATHS: 'x' })).join('\n');
    for (const name of ['PORT', 'REDIS_URL', 'KOOGATE_SESSION_SECRET', 'KOOGATE_OAEP_VARIANT', 'KOOGATE_PUBLIC_PATHS']) expect(text).toContain(name);
  });

  test('a problem message says what was wrong (the bad value or the rule)', () => {
    expect(configProblems(validEnv({ PORT: 'abc' })).join()).toMatch(/"abc"/);
    expect(configProblems(validEnv({ KOOGATE_OAEP_VARIANT: 'sha512' })).join()).toMatch(/sha512/);
    expect(configProblems(validEnv({ KOOGATE_SESSION_SECRET: 'short' })).join()).toMatch(/32/);
  });

  test('a secret never appears in a problem message', () => {
    const secret = 'tooshort-but-secret';
    const err = (() => {
      try {
        loadConfig(validEnv({ KOOGATE_SESSION_SECRET: secret, KOOGATE_ENCRYPTION_KEYS: secret }));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).not.toContain(secret);
  });

  test('the admin token: at least 32 characters, never the directory API token, never in a message', () => {
    const token = 'a'.repeat(40);
    expect(loadConfig(validEnv({ KOOGATE_ADMIN_TOKEN: token })).adminToken).toBe(token);
    expect(loadConfig(validEnv()).adminToken).toBeUndefined();
    expect(configProblems(validEnv({ KOOGATE_ADMIN_TOKEN: 'short-admin' })).join()).toMatch(/KOOGATE_ADMIN_TOKEN must be at least 32/);
    const same = configProblems(validEnv({ KOOGATE_ADMIN_TOKEN: token, KOOGATE_API_TOKEN: token }));
    expect(same.join()).toMatch(/KOOGATE_ADMIN_TOKEN must differ from KOOGATE_API_TOKEN/);
    expect(same.join()).not.toContain(token);
  });

  test('KOOGATE_WORKERS: a number, or auto for the cores this process may use; more than one needs a shared store', () => {
    const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(loadConfig(validEnv({ ...redis, KOOGATE_WORKERS: '4' })).workers).toBe(4);
    expect(loadConfig(validEnv({ ...redis, KOOGATE_WORKERS: 'auto' })).workers).toBe(availableParallelism());
    expect(loadConfig(validEnv({ REDIS_SENTINELS: '127.0.0.1:26379', KOOGATE_WORKERS: '2' })).workers).toBe(2);
    expect(loadConfig(validEnv({ KOOGATE_WORKERS: '1' })).workers).toBe(1); // one process: the memory store is fine
    for (const bad of ['0', '-1', '2.5', 'many', '257']) {
      expect(configProblems(validEnv({ ...redis, KOOGATE_WORKERS: bad })).join()).toContain(`KOOGATE_WORKERS must be auto or a whole number from 1 to 256 (got "${bad}")`);
    }
    const refused = configProblems(validEnv({ KOOGATE_WORKERS: '3' })).join('\n');
    expect(refused).toContain('KOOGATE_WORKERS=3 runs 3 worker processes, which need a shared store');
    expect(refused).toContain('REDIS_URL');
  });

  test('a session secret list with no secret in it (",") is refused and named', () => {
    const text = configProblems(validEnv({ KOOGATE_SESSION_SECRET: ',' })).join('\n');
    expect(text).toContain('KOOGATE_SESSION_SECRET');
  });
});

describe('isUnconfigured', () => {
  test('true for an empty environment and for one holding only unrelated or optional settings', () => {
    expect(isUnconfigured({})).toBe(true);
    expect(isUnconfigured({ PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'production' })).toBe(true);
    expect(isUnconfigured({ PORT: '9000', KOOGATE_LOG_LEVEL: 'debug' })).toBe(true);
    expect(isUnconfigured({ KOOGATE_APP_ID: '   ' })).toBe(true);
  });

  test.each([...REQUIRED, 'KOOGATE_RSA_PRIVATE_KEY', 'KOOGATE_RSA_PRIVATE_KEY_FILE'])('false once %s is set', (name) => {
    expect(isUnconfigured({ [name]: 'x' })).toBe(false);
  });

  test('false for a full environment', () => {
    expect(isUnconfigured(validEnv())).toBe(false);
  });
});

describe('SETTINGS', () => {
  test('names are unique and every entry has a meaning', () => {
    const names = SETTINGS.map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    for (const s of SETTINGS) expect(s.meaning.trim().length).toBeGreaterThan(10);
    for (const s of SETTINGS) expect(s.required && s.default !== undefined).toBeFalsy();
  });

  test('no module outside config/ reads a setting from the environment (so SETTINGS is every setting)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
      });
    const offenders = files(join(REPO, 'src'))
      .filter((f) => !f.includes(`${join('src', 'config')}`) && !f.includes(`${join('src', 'sandbox')}`))
      .filter((f) => /process\.env\b|\benv\.(KOOGATE|REDIS)_/.test(readFileSync(f, 'utf8')))
      .map((f) => f.slice(REPO.length + 1));
    // main.ts hands the environment to loadConfig (and peeks at the log level before it); cli.ts hands it on.
    expect(offenders.sort()).toEqual(['src/cli.ts', 'src/main.ts']);
  });

  test('a _FILE variant is listed beside its setting, never required on its own', () => {
    const names = new Set(SETTINGS.map((s) => s.env));
    for (const [i, s] of SETTINGS.entries()) {
      if (!s.env.endsWith('_FILE') || !names.has(s.env.slice(0, -'_FILE'.length))) continue;
      expect(SETTINGS[i - 1]!.env).toBe(s.env.slice(0, -'_FILE'.length));
      expect(s.required).toBe(false);
    }
    expect(SETTINGS.map((s) => s.env)).toEqual(expect.arrayContaining(['KOOGATE_RSA_PRIVATE_KEY_FILE', 'KOOGATE_ASSERTION_KEY_FILE']));
  });
});

/*
 * The README's configuration table mirrors SETTINGS. The README is written alongside the code,
 * so these tests fail while it lags behind; that is their purpose.
 */
describe('README.md configuration table', () => {
  const readme = () => {
    const path = join(REPO, 'README.md');
    expect(existsSync(path)).toBe(true);
    return readFileSync(path, 'utf8');
  };
  const rowOf = (text: string, env: string) => text.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${env}\``));

  test('names every setting of SETTINGS', () => {
    const text = readme();
    const missing = SETTINGS.map((s) => s.env).filter((env) => !text.includes(env));
    expect(missing).toEqual([]);
  });

  test('has a table row for every setting, with its default or "required"', () => {
    const text = readme();
    const problems: string[] = [];
    for (const s of SETTINGS) {
      const row = rowOf(text, s.env);
      if (!row) problems.push(`${s.env}: no table row`);
      else if (s.required && !/required/i.test(row)) problems.push(`${s.env}: row does not say required`);
      else if (s.default && !row.includes(s.default)) problems.push(`${s.env}: row does not show default ${s.default}`);
    }
    expect(problems).toEqual([]);
  });
});
