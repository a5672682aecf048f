import Redis from 'ioredis';
import { join } from 'node:path';
import { startSandbox } from '../src/sandbox/marketplace';
import { DEMO_APP_ID, newSecrets, stackEnv, syncTenants } from '../src/sandbox/stack';
import { freePort, startRedis } from '../test/support/redis';
import { loginCookie } from '../test/support/login';
import { here, startProc } from './support';

/**
 * `npm run bench:renewal`: two koogate processes on one Redis; a session whose token is due is hit by a
 * storm of parallel requests across both while the marketplace takes its time. Prints how many refresh
 * grants reached the marketplace (the answer must be 1), the successes, Redis commands per proxied
 * request in steady state, and logins per second through the stand-in marketplace.
 */
async function main(): Promise<void> {
  const storm = Number(process.env.BENCH_STORM ?? 1000);
  const grantDelayMs = Number(process.env.BENCH_GRANT_DELAY_MS ?? 400);
  const redis = await startRedis();
  const upstream = await startProc(here('upstream-server.js'), []);
  const sandbox = await startSandbox({});
  const secrets = newSecrets();
  const [pa, pb] = [await freePort(), await freePort()];
  const env = (port: number) => ({
    ...stackEnv(sandbox, upstream.url, secrets, port, '127.0.0.1'),
    KOOGATE_PUBLIC_URL: `http://127.0.0.1:${pa}`,
    REDIS_URL: redis.url,
    KOOGATE_LOG_LEVEL: 'info',
    KOOGATE_RENEW_SKEW_SECONDS: '120',
    KOOGATE_RENEW_LOCK_LEASE_MS: '200',
    NODE_ENV: 'production',
  });
  const main = join(__dirname, '..', 'src', 'main.js');
  const [a, b] = await Promise.all([startProc(main, [], env(pa)), startProc(main, [], env(pb))]);
  const spy = new Redis(redis.url);
  try {
    sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${a.url}/_koogate/callback` });
    await syncTenants(sandbox, a.url, secrets);

    // Logins per second, 8 at a time; and what each session costs in Redis.
    const logins = 200;
    const memBefore = await usedMemory(spy);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < logins) {
          next++;
          await loginCookie(a.url, sandbox, { userName: 'lina' });
        }
      }),
    );
    const loginRate = logins / ((performance.now() - t0) / 1000);
    const bytesPerSession = ((await usedMemory(spy)) - memBefore) / logins;

    // The storm: a token due at once (expires_in inside the skew), renewed tokens not due again.
    sandbox.behaviour.expiresIn = 60;
    const cookie = await loginCookie(a.url, sandbox);
    sandbox.behaviour.expiresIn = 7200;
    sandbox.behaviour.tokenDelayMs = grantDelayMs;
    sandbox.resetStats();
    const t1 = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: storm }, (_, i) => fetch(`${i % 2 ? b.url : a.url}/api/x`, { headers: { cookie, accept: 'application/json' } }).then(async (r) => (await r.arrayBuffer(), r.status))),
    );
    const stormMs = performance.now() - t1;
    const ok = statuses.filter((s) => s === 200).length;
    const grants = sandbox.stats.refreshGrants;
    const tokenRequests = sandbox.stats.tokenRequests;

    // Steady state: Redis commands per proxied request of a live session.
    const before = Number(/total_commands_processed:(\d+)/.exec(await spy.info('stats'))![1]);
    const n = 2000;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => fetch(`${(i + j) % 2 ? b.url : a.url}/api/x`, { headers: { cookie } }).then((r) => r.arrayBuffer())));
    }
    const after = Number(/total_commands_processed:(\d+)/.exec(await spy.info('stats'))![1]);

    process.stdout.write(
      [
        `Renewal storm: ${storm} parallel requests across 2 replicas on one due session, grant delayed ${grantDelayMs} ms (lock lease 200 ms)`,
        `  refresh grants at the marketplace: ${grants} (token endpoint requests: ${tokenRequests})`,
        `  successes: ${ok}/${storm} in ${stormMs.toFixed(0)} ms`,
        `Redis commands per proxied request, steady state: ${((after - before - 1) / n).toFixed(3)}`,
        `Logins through the stand-in marketplace: ${loginRate.toFixed(0)}/s (8 at a time)`,
        `Redis memory per session (record, grant, indexes): ${(bytesPerSession / 1024).toFixed(1)} KiB, ${((bytesPerSession * 10_000) / 1024 / 1024).toFixed(1)} MiB per 10k sessions`,
      ].join('\n') + '\n',
    );
    if (grants !== 1 || ok !== storm) process.exitCode = 1;
  } finally {
    spy.disconnect();
    await Promise.all([a.stop(), b.stop()]);
    await upstream.stop();
    await sandbox.close();
    await redis.dispose();
  }
}

async function usedMemory(spy: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await spy.info('memory'))![1]);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
