import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { syncedStack } from '../support/stack';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');
const run = (env: Record<string, string>) => spawnSync(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });

describe('start-up', () => {
  test('in production, no configuration is an error naming every missing setting; the demo does not start', () => {
    const r = run({ NODE_ENV: 'production' });
    expect(r.status).toBe(1);
    for (const name of ['KOOGATE_PUBLIC_URL', 'KOOGATE_UPSTREAM_URL', 'KOOGATE_APP_ID', 'KOOGATE_KIT_ACCESS_KEY', 'KOOGATE_RSA_PRIVATE_KEY', 'KOOGATE_SESSION_SECRET']) {
      expect(r.stderr).toContain(name);
    }
    expect(r.stdout).not.toContain('demo is running');
  });

  test('outside production, a half-done configuration is an error too, not the demo', () => {
    const r = run({ KOOGATE_APP_ID: 'my-app', PORT: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('KOOGATE_PUBLIC_URL is required');
    expect(r.stderr).not.toContain('KOOGATE_APP_ID is required');
    expect(r.stdout).not.toContain('demo is running');
  });
});

describe('behind a TLS terminator (https public URL)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await syncedStack({ env: { KOOGATE_COOKIE_SECURE: 'true' } });
  });
  afterAll(() => stack?.close());

  test('the session cookie is Secure and set when the terminator says https, so users do not loop at login', async () => {
    const client = new Client({ accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'x-forwarded-proto': 'https' });
    const hops = await login(client, stack.url, stack.sandbox);
    const cb = hops.find((h) => h.url.includes('/_koogate/callback'))!;
    const sid = cb.headers.getSetCookie().find((c) => c.startsWith('koogate.sid='));
    expect(sid).toMatch(/; Secure/i);
    expect(hops[hops.length - 1]!.status).toBe(200);
  });
});
