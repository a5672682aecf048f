import { createHmac } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { decodeDelivery, encodeDelivery } from '../../src/webhook/delivery';
import { eventData, webhookEvent } from '../../src/webhook/event';
import { MAX_DELAY_FACTOR, nextRetry, retryDelay } from '../../src/webhook/retry';
import { webhookSignature } from '../../src/webhook/signature';
import { configProblems, validEnv, type Env } from '../support/config-env';

describe('webhook event', () => {
  test('applicationSync: the secret is dropped, whether it was stored is said', () => {
    const body = { instanceId: 'i', tenantId: 't', appId: 'a', clientId: 'c', clientSecret: 'b64-ciphertext', flag: 2, testFlag: 0 };
    expect(eventData('applicationSync', body)).toEqual({ instanceId: 'i', tenantId: 't', appId: 'a', clientId: 'c', flag: 2, testFlag: 0, clientSecretStored: true });
    expect(eventData('applicationSync', { ...body, flag: 0 })).toMatchObject({ clientSecretStored: false });
    expect(eventData('applicationSync', { ...body, flag: 0 })).not.toHaveProperty('clientSecret');
  });

  test('no top-level field named like a secret leaves, for any interface; others are kept as they are', () => {
    const data = eventData('tenantSync', { tenantId: 't', sharedSecret: 'x', CLIENT_SECRET: 'y', userList: [{ userName: 'u' }] });
    expect(data).toEqual({ tenantId: 't', userList: [{ userName: 'u' }] });
    expect(eventData('tenantSync', null)).toEqual({});
  });

  test('the envelope: id, interface, generation, receivedAt as ISO time, data', () => {
    const e = webhookEvent({ iface: 'authSync', generation: 'v1', body: { tenantId: 't' }, receivedAt: Date.UTC(2030, 0, 2, 3, 4, 5) }, 'id-1');
    expect(e).toEqual({ id: 'id-1', interface: 'authSync', generation: 'v1', receivedAt: '2030-01-02T03:04:05.000Z', data: { tenantId: 't' } });
    expect(webhookEvent({ iface: 'x', generation: 'v2', body: {}, receivedAt: 0 }).id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('webhook signature', () => {
  test('t=<unix seconds>, then one v1 per secret: hex HMAC-SHA256 over "<t>.<body>"', () => {
    const body = '{"id":"1","data":{"name":"张三"}}';
    const hmac = (k: string) => createHmac('sha256', k).update(`1795000000.${body}`, 'utf8').digest('hex');
    expect(webhookSignature(['k1'], body, 1795000000)).toBe(`t=1795000000,v1=${hmac('k1')}`);
    expect(webhookSignature(['k1', 'k2'], body, 1795000000)).toBe(`t=1795000000,v1=${hmac('k1')},v1=${hmac('k2')}`);
  });
});

describe('webhook retry policy', () => {
  const policy = { baseMs: 1000, maxAttempts: 5, maxAgeMs: 60_000 };

  test('the nominal delay doubles from the base and stops at 300 times it (5 minutes)', () => {
    const top = () => 1 - Number.EPSILON;
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, 1000, top))).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(retryDelay(9, 1000, top)).toBe(256_000);
    expect(retryDelay(10, 1000, top)).toBe(300_000);
    expect(retryDelay(5000, 1000, top)).toBe(1000 * MAX_DELAY_FACTOR);
  });

  test('jitter draws between half and all of the nominal delay', () => {
    expect(retryDelay(3, 1000, () => 0)).toBe(2000);
    expect(retryDelay(3, 1000, () => 0.5)).toBe(3000);
    for (let i = 0; i < 200; i++) {
      const d = retryDelay(4, 20);
      expect(d).toBeGreaterThanOrEqual(80);
      expect(d).toBeLessThanOrEqual(160);
    }
  });

  test('given up after the maximum attempts or once older than the maximum age, whichever comes first', () => {
    expect(nextRetry(policy, 4, 0, 1000, () => 0)).toBe(4000);
    expect(nextRetry(policy, 5, 0, 1000)).toBeNull();
    expect(nextRetry(policy, 1, 0, 59_999, () => 0)).toBe(500);
    expect(nextRetry(policy, 1, 0, 60_000)).toBeNull();
  });
});

describe('webhook delivery record', () => {
  test('round-trips, and anything else in the queue reads as null', () => {
    const d = { body: '{"id":"x"}', event: 'tenantSync', tenantId: 't', attempts: 2, queuedAt: 5, lastError: 'HTTP 500' };
    expect(decodeDelivery(encodeDelivery(d))).toEqual(d);
    for (const raw of ['', 'null', '{', '[]', '{"body":1,"event":"e","attempts":0,"queuedAt":0}', '{"body":"b","event":"e","attempts":"0","queuedAt":0}']) {
      expect(decodeDelivery(raw)).toBeNull();
    }
  });
});

describe('webhook settings', () => {
  const env = (over: Env = {}) => validEnv({ NODE_ENV: 'test', ...over });
  const problems = (over: Env): string[] => configProblems(env(over));
  const secret = 'w'.repeat(32);

  test('off without a URL (a lone secret is ignored)', () => {
    expect(loadConfig(env()).webhook).toBeUndefined();
    expect(loadConfig(env({ KOOGATE_WEBHOOK_SECRET: secret })).webhook).toBeUndefined();
  });

  test('on with a URL and a secret, with the documented defaults', () => {
    expect(loadConfig(env({ KOOGATE_WEBHOOK_URL: 'http://isv-app:3000/koogate/events', KOOGATE_WEBHOOK_SECRET: ` ${secret} , ${secret}2 ` })).webhook).toEqual({
      url: new URL('http://isv-app:3000/koogate/events'),
      secrets: [secret, `${secret}2`],
      timeoutMs: 10_000,
      retryBaseMs: 1000,
      maxAttempts: 500,
      maxAgeSeconds: 86_400,
    });
    const tuned = loadConfig(
      env({
        KOOGATE_WEBHOOK_URL: 'https://app.example.com/hook',
        KOOGATE_WEBHOOK_SECRET: secret,
        KOOGATE_WEBHOOK_TIMEOUT_MS: '500',
        KOOGATE_WEBHOOK_RETRY_BASE_MS: '20',
        KOOGATE_WEBHOOK_MAX_ATTEMPTS: '4',
        KOOGATE_WEBHOOK_MAX_AGE_SECONDS: '60',
      }),
    ).webhook;
    expect(tuned).toMatchObject({ timeoutMs: 500, retryBaseMs: 20, maxAttempts: 4, maxAgeSeconds: 60 });
  });

  test('the secret is required with the URL and must be long enough; the URL must be http(s) without credentials', () => {
    expect(problems({ KOOGATE_WEBHOOK_URL: 'https://app.example.com/hook' }).join('\n')).toMatch(/KOOGATE_WEBHOOK_SECRET is required/);
    expect(problems({ KOOGATE_WEBHOOK_URL: 'https://app.example.com/hook', KOOGATE_WEBHOOK_SECRET: `${secret},short` }).join('\n')).toMatch(/at least 32/);
    expect(problems({ KOOGATE_WEBHOOK_URL: 'ftp://app.example.com/hook', KOOGATE_WEBHOOK_SECRET: secret }).join('\n')).toMatch(/KOOGATE_WEBHOOK_URL must be an absolute http/);
    expect(problems({ KOOGATE_WEBHOOK_URL: 'hook', KOOGATE_WEBHOOK_SECRET: secret }).join('\n')).toMatch(/KOOGATE_WEBHOOK_URL must be an absolute http/);
    expect(problems({ KOOGATE_WEBHOOK_URL: 'https://u:p@app.example.com/hook', KOOGATE_WEBHOOK_SECRET: secret }).join('\n')).toMatch(/user name or password/);
  });

  test('numbers are checked even while the webhook is off', () => {
    expect(problems({ KOOGATE_WEBHOOK_TIMEOUT_MS: '50' }).join('\n')).toMatch(/KOOGATE_WEBHOOK_TIMEOUT_MS must be a whole number from 100/);
    expect(problems({ KOOGATE_WEBHOOK_MAX_ATTEMPTS: '0' }).join('\n')).toMatch(/KOOGATE_WEBHOOK_MAX_ATTEMPTS/);
    expect(problems({ KOOGATE_WEBHOOK_RETRY_BASE_MS: 'soon' }).join('\n')).toMatch(/KOOGATE_WEBHOOK_RETRY_BASE_MS/);
    expect(problems({ KOOGATE_WEBHOOK_MAX_AGE_SECONDS: '-1' }).join('\n')).toMatch(/KOOGATE_WEBHOOK_MAX_AGE_SECONDS/);
  });
});
