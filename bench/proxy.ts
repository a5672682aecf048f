import Redis from 'ioredis';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startSandbox } from '../src/sandbox/marketplace';
import { DEMO_APP_ID, newSecrets, stackEnv, syncTenants, type StackSecrets } from '../src/sandbox/stack';
import { freePort, startRedis } from '../test/support/redis';
import { loginCookie } from '../test/support/login';
import { findNginx, NGINX_INSTALL_HINT, startNginx } from './nginx';
import { seedSessions } from './sessions';
import { cpuMs, here, load, median, rssBytes, startProc, type LoadResult, type Proc } from './support';

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The proxy's process, whose CPU time per request is reported (none for the app direct). */
  pid?: number;
}

/**
 * `npm run bench`: in one run on one machine, the app direct, nginx (when installed; one worker, keep-alive
 * upstream, no auth), a bare Node reverse proxy (http-proxy with keep-alive, no auth), the floor of any
 * proxy on node:http and undici (bench/floor-proxy.ts), koogate as operators run it (a logged-in session
 * on a real Redis, metrics and access log on), the same without its access log, and koogate with two
 * workers; requests/s, p50/p99 latency and the
 * ratios, medians over several rounds. Then the memory of one koogate worker holding 100,000 distinct
 * sessions, and Redis bytes per session.
 * BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS and BENCH_SESSIONS (0: no memory run) tune it;
 * BENCH_TARGETS (comma-separated names) measures only some targets; NGINX names the nginx binary;
 * BENCH_BASELINE (another build's dist/src/main.js) adds that build as the target `baseline`.
 */
async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 8);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const sessionCount = Number(process.env.BENCH_SESSIONS ?? 100_000);
  const only = process.env.BENCH_TARGETS?.split(',').map((s) => s.trim());
  const redis = await startRedis();
  const upstream = await startProc(here('upstream-server.js'), []);
  const bare = await startProc(here('bare-proxy.js'), [upstream.url]);
  const floor = await startProc(here('floor-proxy.js'), [upstream.url]);
  const nginxBinary = findNginx();
  if (!nginxBinary) process.stderr.write(`${NGINX_INSTALL_HINT}\n`);
  const nginx: Proc | undefined = nginxBinary ? await startNginx(nginxBinary, upstream.url, await freePort()) : undefined;
  const sandbox = await startSandbox({});
  const secrets = newSecrets();
  const main = join(__dirname, '..', 'src', 'main.js');
  // As an operator runs it: metrics on (their own listener) and the access log on, one line per request.
  const koogateEnv = async (workers: number, extra: Record<string, string> = {}) => {
    const port = await freePort();
    return {
      ...stackEnv(sandbox, upstream.url, secrets, port, '127.0.0.1'),
      REDIS_URL: redis.url,
      KOOGATE_WORKERS: String(workers),
      KOOGATE_LOG_LEVEL: 'info', // the readiness line is an info line
      KOOGATE_METRICS_PORT: String(await freePort()),
      KOOGATE_ACCESS_LOG: 'true',
      NODE_ENV: 'production',
      ...extra,
    };
  };
  const wanted = (name: string) => !only || only.includes(name);
  const koogate = await startProc(main, [], await koogateEnv(1));
  // The access log's cost: the same koogate without it.
  const quiet = wanted('koogate no access log') ? await startProc(main, [], await koogateEnv(1, { KOOGATE_ACCESS_LOG: 'false' })) : undefined;
  // BENCH_BASELINE: another build's dist/src/main.js, measured beside this one in the same run.
  const baseline = process.env.BENCH_BASELINE ? await startProc(process.env.BENCH_BASELINE, [], await koogateEnv(1)) : undefined;
  // The same sessions (one Redis, one secret), served by two worker processes.
  const koogate2 = wanted('koogate 2 workers') ? await startProc(main, [], await koogateEnv(2)) : undefined;
  const spy = new Redis(redis.url);
  try {
    sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${koogate.url}/_koogate/callback` });
    await syncTenants(sandbox, koogate.url, secrets);
    const cookie = await loginCookie(koogate.url, sandbox);
    const session = { cookie, accept: 'application/json' };
    const all: Target[] = [
      { name: 'direct', url: `${upstream.url}/api/items`, headers: {} },
      ...(nginx ? [{ name: 'nginx', url: `${nginx.url}/api/items`, headers: {}, pid: nginx.pid }] : []),
      { name: 'bare proxy', url: `${bare.url}/api/items`, headers: {}, pid: bare.pid },
      { name: 'node floor', url: `${floor.url}/api/items`, headers: {}, pid: floor.pid },
      { name: 'koogate', url: `${koogate.url}/api/items`, headers: session, pid: koogate.pid },
      ...(baseline ? [{ name: 'baseline', url: `${baseline.url}/api/items`, headers: session, pid: baseline.pid }] : []),
      ...(quiet ? [{ name: 'koogate no access log', url: `${quiet.url}/api/items`, headers: session, pid: quiet.pid }] : []),
      ...(koogate2 ? [{ name: 'koogate 2 workers', url: `${koogate2.url}/api/items`, headers: session, pid: koogate2.pid }] : []),
    ];
    const targets = all.filter((t) => wanted(t.name));
    for (const kg of targets.filter((t) => t.name.startsWith('koogate') || t.name === 'baseline')) {
      const check = await fetch(kg.url, { headers: kg.headers });
      if (check.status !== 200) throw new Error(`${kg.name} answered ${check.status}: the session is not logged in`);
    }
    for (const t of targets) await load(t.url, { seconds: 2, connections, headers: t.headers }); // warm-up
    const results: Record<string, LoadResult[]> = {};
    const cpu: Record<string, number[]> = {};
    let commands = 0;
    let koogateRequests = 0;
    for (let r = 0; r < rounds; r++) {
      // Each round starts with another target, so that a noisy moment does not always hit the same one.
      const shift = r % targets.length;
      for (const t of [...targets.slice(shift), ...targets.slice(0, shift)]) {
        const before = t.name === 'koogate' ? await totalCommands(spy) : 0;
        const cpuBefore = t.pid ? await cpuMs(t.pid) : undefined;
        const res = await load(t.url, { seconds, connections, headers: t.headers });
        const cpuAfter = t.pid ? await cpuMs(t.pid) : undefined;
        if (cpuBefore !== undefined && cpuAfter !== undefined) (cpu[t.name] ??= []).push(((cpuAfter - cpuBefore) * 1000) / Math.max(1, res.requests));
        if (t.name === 'koogate') {
          commands += (await totalCommands(spy)) - before - 1; // minus the INFO itself
          koogateRequests += res.requests;
        }
        (results[t.name] ??= []).push(res);
        process.stderr.write(`round ${r + 1}/${rounds} ${t.name}: ${res.rps.toFixed(0)} req/s p50 ${res.p50} ms p99 ${res.p99} ms (errors ${res.errors}, non-2xx ${res.non2xx})\n`);
      }
    }
    const has = (name: string) => results[name] !== undefined;
    const m = (name: string, k: keyof LoadResult) => median(results[name]!.map((x) => x[k]));
    const cpuOf = (name: string) => (cpu[name] ? `${median(cpu[name]).toFixed(0)}` : '–');
    const row = (name: string) => `| ${name} | ${m(name, 'rps').toFixed(0)} | ${m(name, 'p50').toFixed(1)} | ${m(name, 'p99').toFixed(1)} | ${cpuOf(name)} |`;
    const ratio = (label: string, of: string, to: string) =>
      !has(of) || !has(to) ? `${label} not measured` : `${label} req/s ${(m(of, 'rps') / m(to, 'rps')).toFixed(2)}×, p99 ${(m(of, 'p99') / m(to, 'p99')).toFixed(2)}×`;
    const out = [
      `Proxy benchmark: ${rounds} rounds × ${seconds} s, ${connections} connections, medians (node ${process.version})`,
      '',
      '| target | req/s | p50 ms | p99 ms | proxy CPU µs/request |',
      '|---|---|---|---|---|',
      ...targets.map((t) => row(t.name)),
      '',
      nginx ? ratio('koogate / nginx:      ', 'koogate', 'nginx') : 'koogate / nginx:       not measured (nginx is not installed; see above)',
      ratio('koogate / bare proxy: ', 'koogate', 'bare proxy'),
      ratio('koogate / direct:     ', 'koogate', 'direct'),
      ratio('koogate / node floor: ', 'koogate', 'node floor'),
      ...(nginx ? [ratio('node floor / nginx:   ', 'node floor', 'nginx')] : []),
      ratio('2 workers / 1 worker: ', 'koogate 2 workers', 'koogate'),
      ratio('access log on / off:  ', 'koogate', 'koogate no access log'),
      ...(baseline ? [ratio('koogate / baseline:   ', 'koogate', 'baseline')] : []),
      `Redis commands per proxied request (logged-in session): ${(commands / Math.max(1, koogateRequests)).toFixed(3)}`,
      `errors: ${Object.entries(results).map(([k, v]) => `${k} ${v.reduce((a, x) => a + x.errors + x.non2xx, 0)}`).join(', ')}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    if (sessionCount > 0) process.stdout.write(`${await memoryRun(koogate, redis.url, spy, secrets, cookie, sessionCount)}\n`);
  } finally {
    spy.disconnect();
    await koogate.stop();
    await quiet?.stop();
    await baseline?.stop();
    await koogate2?.stop();
    await bare.stop();
    await floor.stop();
    await nginx?.stop();
    await upstream.stop();
    await sandbox.close();
    await redis.dispose();
  }
}

/**
 * One koogate worker (the single-process koogate, measured from outside) after a request from each of
 * `count` distinct logged-in sessions, which its session cache and cookie memo then hold; and the Redis
 * memory those sessions take.
 */
async function memoryRun(koogate: Proc, redisUrl: string, spy: Redis, secrets: StackSecrets, loggedIn: string, count: number): Promise<string> {
  const rssBefore = await rssBytes(koogate.pid);
  const redisBefore = await usedMemory(spy);
  process.stderr.write(`memory: writing ${count} sessions…\n`);
    // Sealed as koogate seals them: under KOOGATE_ENCRYPTION_KEYS (the demo's derivation from the session secret is refused in production).
  const encryptionKeys = secrets.encryptionKey ? [secrets.encryptionKey] : [secrets.sessionSecret];
  const cookies = await seedSessions({ redisUrl, sessionSecret: secrets.sessionSecret, encryptionKeys, cookieName: 'koogate.sid', loggedInCookie: loggedIn }, count);
  const redisPerSession = ((await usedMemory(spy)) - redisBefore) / count;
  process.stderr.write(`memory: one request from each…\n`);
  const pool = new Pool(koogate.url, { connections: 32 });
  let next = 0;
  let ok = 0;
  const statuses: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < cookies.length) {
        const res = await pool.request({ path: '/api/items', method: 'GET', headers: { cookie: cookies[next++]!, accept: 'application/json' } });
        await res.body.dump();
        if (res.statusCode === 200) ok++;
        else statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      }
    }),
  );
  await pool.close();
  const rssAfter = await rssBytes(koogate.pid);
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
  return [
    `Memory, one worker, ${count} distinct logged-in sessions (${ok} answered 200${Object.keys(statuses).length ? `; others: ${JSON.stringify(statuses)}` : ''}):`,
    `  RSS ${mib(rssBefore)} MiB before, ${mib(rssAfter)} MiB after: ${((rssAfter - rssBefore) / count).toFixed(0)} bytes per session`,
    `  Redis ${(redisPerSession / 1024).toFixed(2)} KiB per session (record, grant, index entries): ${mib(redisPerSession * count)} MiB for all`,
  ].join('\n');
}

async function totalCommands(spy: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await spy.info('stats'))![1]);
}

async function usedMemory(spy: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await spy.info('memory'))![1]);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
