import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createLogger } from '../../src/observability/logger';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { newSecrets, stackEnv, startStack, type Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { freePort, startRedis, type RedisServer } from '../support/redis';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');
type Line = Record<string, unknown>;

/** koogate as a child process until it exits; every stdout and stderr line. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string[]; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => ok({ code, stdout: out.split('\n').filter(Boolean), stderr: err }));
  });
}

describe('start-up with Redis unreachable', () => {
  test('retries with a JSON line per attempt, then exits with a message naming the setting, bounded by KOOGATE_STORE_WAIT_SECONDS', async () => {
    const sandbox = await startSandbox({});
    try {
      const dead = await freePort();
      const env = { ...stackEnv(sandbox, 'http://127.0.0.1:9', newSecrets(), await freePort(), '127.0.0.1'), NODE_ENV: 'production', REDIS_URL: `redis://:hunter2@127.0.0.1:${dead}`, KOOGATE_STORE_WAIT_SECONDS: '2' };
      const r = await runToExit(env);
      expect(r.code).toBe(1);
      const lines = r.stdout.map((l) => JSON.parse(l) as Line);
      const waits = lines.filter((l) => l.msg === 'waiting for redis');
      expect(waits.length).toBeGreaterThanOrEqual(2);
      expect(waits[0]).toMatchObject({ level: 'warn', target: `REDIS_URL=redis://127.0.0.1:${dead}`, reason: 'ECONNREFUSED', giveUpAfterMs: 2000 });
      expect(r.stderr).toContain(`Redis is not reachable at REDIS_URL=redis://127.0.0.1:${dead} (ECONNREFUSED)`);
      expect(r.stderr).toContain('KOOGATE_STORE_WAIT_SECONDS');
      expect(r.stderr).not.toContain('Connection is closed');
      expect(r.stderr + r.stdout.join('\n')).not.toContain('hunter2');
      expect(r.stderr).not.toContain('[ioredis]');
    } finally {
      await sandbox.close();
    }
  });

  test('a Redis that comes up within the wait is used: koogate starts', async () => {
    const sandbox = await startSandbox({});
    const redis = await startRedis();
    try {
      await redis.stop();
      const port = await freePort();
      const child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH ?? '', ...stackEnv(sandbox, 'http://127.0.0.1:9', newSecrets(), port, '127.0.0.1'), NODE_ENV: 'production', REDIS_URL: redis.url, KOOGATE_STORE_WAIT_SECONDS: '30' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const seen = (text: string) =>
        new Promise<void>((ok) => {
          const check = () => out.includes(text) && ok();
          child.stdout.on('data', (b: Buffer) => {
            out += b.toString();
            check();
          });
          check();
        });
      await seen('"waiting for redis"');
      await redis.start();
      await seen('"koogate listening"');
      expect(out).toContain('"redis reachable; starting"');
      await new Promise<void>((ok) => {
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      });
    } finally {
      await redis.dispose();
      await sandbox.close();
    }
  });
});

describe('a stored secret sealed under a key that is not configured', () => {
  let redis: RedisServer;
  let sandbox: Sandbox;
  let stack: Stack;
  const lines: Line[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox({});
    // The tenants are synced under one key …
    const first = await startStack({ log: createLogger('error', () => {}), sandbox, redisUrl: redis.url, env: { KOOGATE_ENCRYPTION_KEYS: 'a'.repeat(40) } });
    await first.syncTenants();
    await first.close();
    // … and koogate restarts with another, as a fresh generated secret would do.
    stack = await startStack({ log: createLogger('info', (l) => lines.push(JSON.parse(l) as Line)), sandbox, redisUrl: redis.url, env: { KOOGATE_ENCRYPTION_KEYS: 'b'.repeat(40) } });
  });
  afterAll(async () => {
    await stack?.close();
    await sandbox?.close();
    await redis?.dispose();
  });

  test('the user sees "service is being configured" with its own code; readyz says why; the log says so once, with the key id', async () => {
    const before = await fetch(`${stack.url}/_koogate/readyz`);
    expect(before.status).toBe(200);
    for (const attempt of [1, 2]) {
      const hops = await login(new Client(), stack.url, stack.sandbox);
      const last = hops[hops.length - 1]!;
      expect({ attempt, status: last.status }).toEqual({ attempt, status: 503 });
      expect(last.text).toContain('KOOGATE_ENCRYPTION_KEY_MISSING');
      expect(last.text).not.toContain('KOOGATE_INTERNAL');
      expect(last.text).toMatch(/being configured|正在配置/);
    }
    const ready = await fetch(`${stack.url}/_koogate/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { reason: string; unknownKeyIds: string[] };
    expect(body.reason).toContain('KOOGATE_ENCRYPTION_KEYS');
    expect(body.unknownKeyIds).toHaveLength(1);
    await new Promise((ok) => setImmediate(ok));
    const alarms = lines.filter((l) => String(l.msg).startsWith('stored data sealed under a key that is not configured'));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ level: 'error', keyId: body.unknownKeyIds[0] });
    expect(JSON.stringify(lines)).not.toContain('a'.repeat(40));
  });
});
