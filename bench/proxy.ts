import Redis from 'ioredis';
import { join } from 'node:path';
import { startSandbox } from '../src/sandbox/marketplace';
import { DEMO_APP_ID, newSecrets, stackEnv, syncTenants } from '../src/sandbox/stack';
import { freePort, startRedis } from '../test/support/redis';
import { loginCookie } from '../test/support/login';
import { findNginx, NGINX_INSTALL_HINT, startNginx } from './nginx';
import { here, load, median, startProc, type LoadResult, type Proc } from './support';

/**
 * `npm run bench`: in one run on one machine, the app direct, nginx (when installed; one worker, keep-alive
 * upstream, no auth), a bare Node reverse proxy (http-proxy with keep-alive, no auth) and koogate with a
 * logged-in session on a real Redis; requests/s, p50/p99 latency and the ratios, medians over several
 * rounds. BENCH_SECONDS, BENCH_ROUNDS and BENCH_CONNECTIONS tune it; NGINX names the nginx binary.
 */
async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 8);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const redis = await startRedis();
  const upstream = await startProc(here('upstream-server.js'), []);
  const bare = await startProc(here('bare-proxy.js'), [upstream.url]);
  const nginxBinary = findNginx();
  if (!nginxBinary) process.stderr.write(`${NGINX_INSTALL_HINT}\n`);
  const nginx: Proc | undefined = nginxBinary ? await startNginx(nginxBinary, upstream.url, await freePort()) : undefined;
  const sandbox = await startSandbox({});
  const secrets = newSecrets();
  const port = await freePort();
  const koogate = await startProc(join(__dirname, '..', 'src', 'main.js'), [], {
    ...stackEnv(sandbox, upstream.url, secrets, port, '127.0.0.1'),
    REDIS_URL: redis.url,
    KOOGATE_LOG_LEVEL: 'info', // the readiness line is an info line; the request path logs nothing when all is well
    NODE_ENV: 'production',
  });
  const spy = new Redis(redis.url);
  try {
    sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${koogate.url}/_koogate/callback` });
    await syncTenants(sandbox, koogate.url, secrets);
    const cookie = await loginCookie(koogate.url, sandbox);
    const targets: { name: string; url: string; headers: Record<string, string> }[] = [
      { name: 'direct', url: `${upstream.url}/api/items`, headers: {} },
      ...(nginx ? [{ name: 'nginx', url: `${nginx.url}/api/items`, headers: {} }] : []),
      { name: 'bare proxy', url: `${bare.url}/api/items`, headers: {} },
      { name: 'koogate', url: `${koogate.url}/api/items`, headers: { cookie, accept: 'application/json' } },
    ];
    const kg = targets.find((t) => t.name === 'koogate')!;
    const check = await fetch(kg.url, { headers: kg.headers });
    if (check.status !== 200) throw new Error(`koogate answered ${check.status}: the session is not logged in`);
    for (const t of targets) await load(t.url, { seconds: 2, connections, headers: t.headers }); // warm-up
    const results: Record<string, LoadResult[]> = {};
    let commands = 0;
    let koogateRequests = 0;
    for (let r = 0; r < rounds; r++) {
      // Each round starts with another target, so that a noisy moment does not always hit the same one.
      for (const t of [...targets.slice(r % targets.length), ...targets.slice(0, r % targets.length)]) {
        const before = t.name === 'koogate' ? await totalCommands(spy) : 0;
        const res = await load(t.url, { seconds, connections, headers: t.headers });
        if (t.name === 'koogate') {
          commands += (await totalCommands(spy)) - before - 1; // minus the INFO itself
          koogateRequests += res.requests;
        }
        (results[t.name] ??= []).push(res);
        process.stderr.write(`round ${r + 1}/${rounds} ${t.name}: ${res.rps.toFixed(0)} req/s p50 ${res.p50} ms p99 ${res.p99} ms (errors ${res.errors}, non-2xx ${res.non2xx})\n`);
      }
    }
    const m = (name: string, k: keyof LoadResult) => median(results[name]!.map((x) => x[k]));
    const row = (name: string) => `| ${name} | ${m(name, 'rps').toFixed(0)} | ${m(name, 'p50').toFixed(1)} | ${m(name, 'p99').toFixed(1)} |`;
    const ratio = (label: string, other: string) =>
      `${label} req/s ${(m('koogate', 'rps') / m(other, 'rps')).toFixed(2)}×, p99 ${(m('koogate', 'p99') / m(other, 'p99')).toFixed(2)}×`;
    const out = [
      `Proxy benchmark: ${rounds} rounds × ${seconds} s, ${connections} connections, medians (node ${process.version})`,
      '',
      '| target | req/s | p50 ms | p99 ms |',
      '|---|---|---|---|',
      ...targets.map((t) => row(t.name)),
      '',
      nginx ? ratio('koogate / nginx:      ', 'nginx') : 'koogate / nginx:       not measured (nginx is not installed; see above)',
      ratio('koogate / bare proxy: ', 'bare proxy'),
      ratio('koogate / direct:     ', 'direct'),
      `Redis commands per proxied request (logged-in session): ${(commands / Math.max(1, koogateRequests)).toFixed(3)}`,
      `errors: ${Object.entries(results).map(([k, v]) => `${k} ${v.reduce((a, x) => a + x.errors + x.non2xx, 0)}`).join(', ')}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    spy.disconnect();
    await koogate.stop();
    await bare.stop();
    await nginx?.stop();
    await upstream.stop();
    await sandbox.close();
    await redis.dispose();
  }
}

async function totalCommands(spy: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await spy.info('stats'))![1]);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
