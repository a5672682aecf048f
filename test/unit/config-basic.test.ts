import { loadConfig } from '../../src/config/config';
import { configProblems, validEnv, type Env } from '../support/config-env';

/** The settings of the production address and the basic interfaces. */
const env = (over: Env = {}) => validEnv({ NODE_ENV: 'test', ...over });
const problems = (over: Env): string => configProblems(env(over)).join('\n');
/** The kit access key of `env()`: a basic key may not be the same. */
const KIT_KEY = env().KOOGATE_KIT_ACCESS_KEY!;

describe('production address and basic settings', () => {
  test('defaults: /_koogate/produce, no basic key, frontEndUrl the public URL, no hook', () => {
    const c = loadConfig(env());
    expect(c.producePath).toBe('/_koogate/produce');
    expect(c.basicAccessKey).toBeUndefined();
    expect(c.frontEndUrl).toBe('https://app.example.com');
    expect(c.basicHook).toBeUndefined();
  });

  test('a produce path of its own, a trailing slash dropped; KOOGATE_FRONTEND_URL overrides the public URL', () => {
    const c = loadConfig(env({ KOOGATE_PRODUCE_PATH: '/isv/produce/', KOOGATE_FRONTEND_URL: 'https://console.example.com/app', KOOGATE_BASIC_ACCESS_KEY: 'AK_basic_1' }));
    expect(c.producePath).toBe('/isv/produce');
    expect(c.frontEndUrl).toBe('https://console.example.com/app');
    expect(c.basicAccessKey).toBe('AK_basic_1');
  });

  test.each([
    ['/', 'must be a path'],
    ['produce', 'must be a path'],
    ['/a/../b', 'must be a path'],
    ['/a b', 'must be a path'],
    ['/a?x=1', 'must be a path'],
    ['/_koogate', 'must not be'],
    ['/_koogate/login', 'must not be'],
    ['/_koogate/api/x', 'must not be'],
    ['/produceAPI', 'must not be'],
    ['/produceAPI/v2', 'must not be'],
  ])('KOOGATE_PRODUCE_PATH=%s is refused (%s)', (path, text) => {
    expect(problems({ KOOGATE_PRODUCE_PATH: path })).toMatch(new RegExp(`KOOGATE_PRODUCE_PATH ${text}`));
  });

  test('the basic key must differ from the kit key, and neither is quoted', () => {
    const text = problems({ KOOGATE_BASIC_ACCESS_KEY: KIT_KEY });
    expect(text).toContain('KOOGATE_BASIC_ACCESS_KEY must differ from KOOGATE_KIT_ACCESS_KEY');
    expect(text).not.toContain(KIT_KEY);
  });

  test('a hook needs the webhook secret, signs with it, and its timeout is bounded', () => {
    expect(problems({ KOOGATE_BASIC_HOOK_URL: 'https://app.internal/hook' })).toContain('KOOGATE_BASIC_HOOK_URL needs KOOGATE_WEBHOOK_SECRET');
    const secret = 'w'.repeat(40);
    const c = loadConfig(env({ KOOGATE_BASIC_HOOK_URL: 'https://app.internal/hook', KOOGATE_WEBHOOK_SECRET: secret }));
    expect(c.basicHook).toEqual({ url: new URL('https://app.internal/hook'), secrets: [secret], timeoutMs: 3000 });
    expect(problems({ KOOGATE_BASIC_HOOK_URL: 'https://app.internal/hook', KOOGATE_WEBHOOK_SECRET: secret, KOOGATE_BASIC_HOOK_TIMEOUT_MS: '60000' })).toContain('KOOGATE_BASIC_HOOK_TIMEOUT_MS');
    expect(problems({ KOOGATE_BASIC_HOOK_URL: 'https://u:p@app.internal/hook', KOOGATE_WEBHOOK_SECRET: secret })).toContain('user name or password');
  });

  test('a frontEndUrl over 512 characters is refused', () => {
    expect(problems({ KOOGATE_FRONTEND_URL: `https://app.example.com/${'x'.repeat(520)}` })).toContain('KOOGATE_FRONTEND_URL must be at most 512');
  });
});
