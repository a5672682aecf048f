import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { configProblems, validEnv, type Env } from '../support/config-env';

/** The settings of koogate's own calls to KooGallery: hosts, the AK/SK pair and the usage deadlines, in production on the memory store. */
const env = (over: Env = {}) => validEnv({ NODE_ENV: 'production', KOOGATE_ENCRYPTION_KEYS: 'e'.repeat(40), KOOGATE_STORE: 'memory', ...over });
const problems = (over: Env): string[] => configProblems(env(over));

describe('outbound settings', () => {
  test('defaults: Huawei\'s open API host and its documented fallback, no AK/SK, the usage deadlines', () => {
    const o = loadConfig(env()).outbound;
    expect(o.apiBases.map((u) => u.href)).toEqual(['https://mkt.myhuaweicloud.com/', 'https://mkt.myhuaweicloud.cn/']);
    expect(o.aksk).toBeUndefined();
    expect(o).toMatchObject({ retryBaseMs: 1000, usage: { hourlyDeadlineMs: 3600_000, dailyDeadlineMs: 24 * 3600_000, retentionMs: 35 * 24 * 3600_000 } });
  });

  test('another API URL has no fallback unless one is named; "none" turns the default one off', () => {
    expect(loadConfig(env({ KOOGATE_MARKETPLACE_API_URL: 'https://mkt-intl.myhuaweicloud.com' })).outbound.apiBases.map((u) => u.host)).toEqual(['mkt-intl.myhuaweicloud.com']);
    expect(loadConfig(env({ KOOGATE_MARKETPLACE_API_URL: 'https://a.example', KOOGATE_MARKETPLACE_API_FALLBACK_URL: 'https://b.example' })).outbound.apiBases.map((u) => u.host)).toEqual(['a.example', 'b.example']);
    expect(loadConfig(env({ KOOGATE_MARKETPLACE_API_FALLBACK_URL: 'none' })).outbound.apiBases.map((u) => u.host)).toEqual(['mkt.myhuaweicloud.com']);
  });

  test('plain http only for a stand-in (KOOGATE_ALLOW_HTTP_MARKETPLACE); no credentials, query or fragment', () => {
    expect(problems({ KOOGATE_MARKETPLACE_API_URL: 'http://127.0.0.1:9' }).join('\n')).toContain('KOOGATE_MARKETPLACE_API_URL must be https');
    expect(loadConfig(env({ KOOGATE_MARKETPLACE_API_URL: 'http://127.0.0.1:9', KOOGATE_ALLOW_HTTP_MARKETPLACE: 'true' })).outbound.apiBases.map((u) => u.href)).toEqual(['http://127.0.0.1:9/']);
    expect(problems({ KOOGATE_MARKETPLACE_API_URL: 'https://u:p@a.example' }).join('\n')).toContain('plain base URL');
    expect(problems({ KOOGATE_MARKETPLACE_API_FALLBACK_URL: 'https://b.example/?x=1' }).join('\n')).toContain('plain base URL');
    expect(problems({ KOOGATE_MARKETPLACE_API_FALLBACK_URL: 'ftp://b' }).join('\n')).toContain('KOOGATE_MARKETPLACE_API_FALLBACK_URL must be https');
    expect(problems({ KOOGATE_MARKETPLACE_API_FALLBACK_URL: 'not a url' }).join('\n')).toContain('KOOGATE_MARKETPLACE_API_FALLBACK_URL must be an absolute https URL or "none"');
  });

  test('AK and SK go together, from the variables or their _FILE variants, and the SK is never quoted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'koogate-aksk-'));
    try {
      writeFileSync(join(dir, 'sk'), 'sk-from-a-file-0123456789\n');
      expect(loadConfig(env({ KOOGATE_MARKETPLACE_AK: 'AKFROMENV0001', KOOGATE_MARKETPLACE_SK_FILE: join(dir, 'sk') })).outbound.aksk).toEqual({ ak: 'AKFROMENV0001', sk: 'sk-from-a-file-0123456789' });
      expect(problems({ KOOGATE_MARKETPLACE_AK: 'AKFROMENV0001' }).join('\n')).toContain('KOOGATE_MARKETPLACE_AK and KOOGATE_MARKETPLACE_SK go together');
      const bad = problems({ KOOGATE_MARKETPLACE_AK: 'AKFROMENV0001', KOOGATE_MARKETPLACE_SK: 'short sk with spaces' }).join('\n');
      expect(bad).toContain('KOOGATE_MARKETPLACE_SK must be 8 to 256 visible ASCII characters');
      expect(bad).not.toContain('short sk');
      expect(problems({ KOOGATE_MARKETPLACE_AK: 'AKFROMENV0001', KOOGATE_MARKETPLACE_SK_FILE: join(dir, 'missing') }).join('\n')).toContain('KOOGATE_MARKETPLACE_SK_FILE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the deadlines and retention are bounded', () => {
    expect(problems({ KOOGATE_USAGE_HOURLY_DEADLINE_MINUTES: '0' }).join('\n')).toContain('KOOGATE_USAGE_HOURLY_DEADLINE_MINUTES');
    expect(problems({ KOOGATE_USAGE_RETENTION_DAYS: 'forever' }).join('\n')).toContain('KOOGATE_USAGE_RETENTION_DAYS');
    expect(loadConfig(env({ KOOGATE_USAGE_DAILY_DEADLINE_HOURS: '48', KOOGATE_OUTBOUND_RETRY_BASE_MS: '50' })).outbound).toMatchObject({ retryBaseMs: 50, usage: { dailyDeadlineMs: 48 * 3600_000 } });
  });
});
