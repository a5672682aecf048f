import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID, newSecrets, stackEnv, syncTenants, type StackSecrets } from '../../src/sandbox/stack';
import { loginCookie } from '../support/login';
import { eventually } from '../support/webhook-receiver';
import { freePort, startRedis, type RedisServer } from '../support/redis';
import { builtSupport, startReplica, type Replica } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

interface Answer {
  status: number;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request on a connection of its own, so that node:cluster hands each to the next worker. */
function fresh(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body, json: <T>() => JSON.parse(body) as T }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

type Line = Record<string, unknown>;

/** The value of one series (name and exact label set) in a Prometheus text scrape; 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
const msg = (m: string, extra: (l: Line) => boolean = () => true) => (l: Line) => l.msg === m && extra(l);

describe('KOOGATE_WORKERS=2: two worker processes on one port, on a real Redis', () => {
  let redis: RedisServer;
  let sandbox: Sandbox;
  let app: TestUpstream;
  let secrets: StackSecrets;
  let env: Record<string, string>;
  let koogate: Replica;
  let cookie: string;
  let metricsUrl: string;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']); // the outage below loses nothing
    sandbox = await startSandbox({});
    app = await startTestUpstream();
    secrets = newSecrets();
    const port = await freePort();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    env = { ...stackEnv(sandbox, app.url, secrets, port, '127.0.0.1'), REDIS_URL: redis.url, KOOGATE_WORKERS: '2', KOOGATE_METRICS_PORT: String(metricsPort) };
    koogate = await startReplica(env);
    sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${koogate.url}/_koogate/callback` });
    await syncTenants(sandbox, koogate.url, secrets);
    cookie = await loginCookie(koogate.url, sandbox);
  }, 60_000);

  afterAll(async () => {
    await koogate?.stop();
    await app?.close();
    await sandbox?.close();
    await redis?.dispose();
  });

  test('the primary says it listens once both workers do; each worker is its own process', async () => {
    const started = koogate.logs.filter((l) => l.includes('"worker listening"')).map((l) => JSON.parse(l) as { worker: number; pid: number });
    expect(started).toHaveLength(2);
    expect(new Set(started.map((w) => w.pid)).size).toBe(2);
    expect(started.map((w) => w.pid)).not.toContain(koogate.pid);
    const listening = JSON.parse(koogate.logs.find((l) => l.includes('"koogate listening"'))!) as Line;
    expect(listening).toMatchObject({ workers: 2, store: 'redis', port: Number(new URL(koogate.url).port) });
    expect(koogate.logs.indexOf(koogate.logs.find((l) => l.includes('"koogate listening"'))!)).toBeGreaterThan(
      koogate.logs.findLastIndex((l) => l.includes('"worker listening"')),
    );
  });

  test('both workers serve the port, and the logged-in session works on whichever a connection reaches', async () => {
    const answered = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const h = await fresh(`${koogate.url}/_koogate/healthz`);
      expect(h.status).toBe(200);
      const body = h.json<{ status: string; worker: number; workers: unknown }>();
      expect(body).toMatchObject({ status: 'ok', workers: { expected: 2, running: 2 } });
      answered.add(body.worker);
    }
    expect(answered.size).toBe(2);

    app.seen.length = 0;
    for (let i = 0; i < 10; i++) {
      const r = await fresh(`${koogate.url}/api/who?i=${i}`, { cookie, accept: 'application/json' });
      expect(r.status).toBe(200);
    }
    expect(app.seen).toHaveLength(10);
    for (const s of app.seen) expect(s.headers['x-forwarded-user']).toBe('zhangwei');
  });

  test('the primary alone opens the metrics port, and one scrape sums the series of both workers', async () => {
    const opened = koogate.logs.filter((l) => l.includes('"metrics listening"')).map((l) => JSON.parse(l) as Line);
    expect(opened).toHaveLength(1);
    expect(opened[0]).not.toHaveProperty('worker');
    expect(koogate.logs.filter((l) => l.includes('"worker listening"'))).toHaveLength(2);
    const scrape = async () => {
      const r = await fresh(metricsUrl);
      expect(r.status).toBe(200);
      return r.body;
    };
    const before = await scrape();
    expect(sample(before, 'koogate_workers_scraped')).toBe(2);
    // The login of beforeAll happened on one worker, whichever scrape connection reaches the primary.
    expect(sample(before, 'koogate_logins_total{outcome="success"}')).toBe(1);
    expect(sample(await scrape(), 'koogate_logins_total{outcome="success"}')).toBe(1);

    // Proxied requests on fresh connections until each worker has served some (its access-log line says which).
    const served = new Map<number, number>();
    let made = 0;
    while (made < 40 && (served.size < 2 || made < 6)) {
      const path = `/api/counted/${made}`;
      expect((await fresh(`${koogate.url}${path}`, { cookie, accept: 'application/json' })).status).toBe(200);
      made++;
      const line = await koogate.waitForLog(msg('request', (l) => l.path === path));
      served.set(line.worker as number, (served.get(line.worker as number) ?? 0) + 1);
    }
    expect(served.size).toBe(2);
    const after = await scrape();
    const proxied = 'koogate_proxy_request_duration_seconds_count{status_class="2xx"}';
    expect(sample(after, proxied) - sample(before, proxied)).toBe(made);
    expect(sample(after, 'koogate_workers_scraped')).toBe(2);
    // One series per label set, whatever the number of workers; the start time of one process is no sum.
    expect(after.match(/^koogate_proxy_request_duration_seconds_count\{status_class="2xx"\} /gm)).toHaveLength(1);
    expect(after).not.toMatch(/^process_start_time_seconds /m);
    expect(after).toMatch(/^koogate_websockets_open 0$/m);
  });

  test('a worker that does not answer is left out of a scrape, which still answers for the other', async () => {
    const workers = koogate.logs.filter((l) => l.includes('"worker listening"')).map((l) => JSON.parse(l) as { worker: number; pid: number });
    const frozen = workers[0]!;
    process.kill(frozen.pid, 'SIGSTOP');
    try {
      const r = await fresh(metricsUrl);
      expect(r.status).toBe(200);
      expect(sample(r.body, 'koogate_workers_scraped')).toBe(1);
      expect(r.body).toMatch(/^koogate_proxy_request_duration_seconds_count\{status_class="2xx"\} /m);
      await koogate.waitForLog(msg('worker left out of a metrics scrape', (l) => l.worker === frozen.worker && l.reason === 'not answering'));
    } finally {
      process.kill(frozen.pid, 'SIGCONT');
    }
    expect(sample((await fresh(metricsUrl)).body, 'koogate_workers_scraped')).toBe(2);
  });

  test('readyz answers for every worker: ready while each reaches Redis, 503 from any worker while Redis is down', async () => {
    const ready = await fresh(`${koogate.url}/_koogate/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', store: 'redis', workers: { expected: 2, running: 2, ready: 2 } });

    await redis.stop();
    try {
      for (let i = 0; i < 2; i++) {
        const down = await fresh(`${koogate.url}/_koogate/readyz`);
        expect(down.status).toBe(503);
        expect(down.json()).toMatchObject({ status: 'unavailable', reason: 'store unreachable', workers: { running: 2, ready: 0 } });
        // The process is still alive: liveness must not restart it for an outage of Redis.
        expect((await fresh(`${koogate.url}/_koogate/healthz`)).status).toBe(200);
      }
    } finally {
      await redis.start();
    }
    let back = 0;
    for (let i = 0; i < 100 && back !== 200; i++) {
      back = (await fresh(`${koogate.url}/_koogate/readyz`)).status;
      if (back !== 200) await new Promise((r) => setTimeout(r, 100)); // ioredis reconnects on its own schedule
    }
    expect(back).toBe(200);
  }, 30_000);

  test('a killed worker is replaced by a new one, and requests are served meanwhile and after', async () => {
    const workers = koogate.logs.filter((l) => l.includes('"worker listening"')).map((l) => JSON.parse(l) as { worker: number; pid: number });
    const victim = workers[workers.length - 1]!;
    process.kill(victim.pid, 'SIGKILL');
    await koogate.waitForLog(msg('worker died; starting another', (l) => l.pid === victim.pid && l.signal === 'SIGKILL'));
    // Until the new one listens, the other worker takes every connection.
    expect((await fresh(`${koogate.url}/api/meanwhile`, { cookie, accept: 'application/json' })).status).toBe(200);
    const replacement = await koogate.waitForLog(msg('worker listening', (l) => !workers.some((w) => w.worker === l.worker)));
    expect(replacement.pid).not.toBe(victim.pid);

    const answered = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const h = (await fresh(`${koogate.url}/_koogate/healthz`)).json<{ worker: number; workers: unknown }>();
      expect(h.workers).toEqual({ expected: 2, running: 2 });
      answered.add(h.worker);
    }
    expect(answered).toContain(replacement.worker);
    expect(answered).not.toContain(victim.worker);
    for (let i = 0; i < 4; i++) expect((await fresh(`${koogate.url}/api/after?i=${i}`, { cookie, accept: 'application/json' })).status).toBe(200);
  }, 30_000);

  test('a worker that cannot start stops the whole process, instead of being restarted for ever', async () => {
    const taken: Server = createServer();
    const port = await new Promise<number>((ok) => taken.listen(0, '127.0.0.1', () => ok((taken.address() as { port: number }).port)));
    try {
      const { KOOGATE_METRICS_PORT: _taken, ...others } = env; // the running koogate holds that one
      const r = spawnSync(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...others, PORT: String(port) }, encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('worker failed to start; stopping');
      expect(r.stdout).not.toContain('worker died; starting another');
    } finally {
      taken.close();
    }
  }, 40_000);

  test('the stop after a failed start exits 1 even when node:cluster reports a worker\'s exit before its channel closes', async () => {
    // Each worker hands a copy of its IPC channel to a process that outlives it (test/support/koogate-lingering-channel.ts),
    // so the primary meets every exit while node:cluster still lists the worker. Counting on that list, it never saw
    // its last worker go, and ended with 0 once the channels closed and nothing was left to run.
    const taken: Server = createServer();
    const port = await new Promise<number>((ok) => taken.listen(0, '127.0.0.1', () => ok((taken.address() as { port: number }).port)));
    try {
      const { KOOGATE_METRICS_PORT: _taken, ...others } = env;
      const r = spawnSync(process.execPath, [builtSupport('koogate-lingering-channel')], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...others, PORT: String(port), LINGER_MS: '3000' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stdout).toContain('worker failed to start; stopping');
      expect(r.status).toBe(1);
    } finally {
      taken.close();
    }
  }, 40_000);

  test('with every worker killed at once, the primary starts new ones and serves again (a pending restart keeps it alive)', async () => {
    // No metrics listener: nothing but the workers and their restarts keeps this primary's event loop busy.
    const { KOOGATE_METRICS_PORT: _taken, ...others } = env;
    const other = await startReplica({ ...others, PORT: String(await freePort()) });
    try {
      const first = other.logs.filter((l) => l.includes('"worker listening"')).map((l) => JSON.parse(l) as { worker: number; pid: number });
      expect(first).toHaveLength(2);
      for (const w of first) process.kill(w.pid, 'SIGKILL');
      for (const w of first) await other.waitForLog(msg('worker died; starting another', (l) => l.pid === w.pid));
      const replacement = (l: Line) => !first.some((w) => w.worker === l.worker);
      const a = await other.waitForLog(msg('worker listening', replacement));
      await other.waitForLog(msg('worker listening', (l) => replacement(l) && l.worker !== a.worker));
      const h = await fresh(`${other.url}/_koogate/healthz`);
      expect(h.status).toBe(200);
      expect(h.json<{ workers: unknown }>().workers).toEqual({ expected: 2, running: 2 });
      expect(other.child.exitCode).toBeNull();
    } finally {
      await other.stop();
    }
  }, 40_000);

  test('with the primary killed outright (SIGKILL), no worker is left behind serving the port', async () => {
    const { KOOGATE_METRICS_PORT: _taken, ...others } = env;
    const port = await freePort();
    const other = await startReplica({ ...others, PORT: String(port) });
    const pids = other.logs.filter((l) => l.includes('"worker listening"')).map((l) => (JSON.parse(l) as { pid: number }).pid);
    expect(pids).toHaveLength(2);
    expect((await fresh(`${other.url}/_koogate/healthz`)).status).toBe(200);
    process.kill(other.pid, 'SIGKILL');
    await other.exited;
    // Not our children: their end is only seen by asking for them (signal 0).
    const running = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await eventually(async () => !pids.some(running), 'both workers gone');
    const refused = await fresh(`${other.url}/_koogate/healthz`).then(
      () => 'answered',
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(refused).toBe('ECONNREFUSED');
  }, 40_000);

  // Last: it ends the process.
  test('SIGTERM reaches every worker through the primary, each drains its in-flight requests; the process exits 0 and starts no worker again', async () => {
    const workerPids = koogate.logs.filter((l) => l.includes('"worker listening"')).map((l) => (JSON.parse(l) as { pid: number }).pid);
    // Slow requests on connections of their own, so both workers hold some when the signal comes.
    const before = app.seen.filter((r) => r.url.startsWith('/slow')).length;
    const slow = Array.from({ length: 8 }, () => fresh(`${koogate.url}/slow?ms=1500`, { cookie, accept: 'application/json' }));
    await app.arrived('/slow', before + 8);
    process.kill(koogate.pid, 'SIGTERM');
    const answers = await Promise.all(slow);
    expect(answers.map((a) => [a.status, a.body])).toEqual(Array.from({ length: 8 }, () => [200, 'late']));
    expect(await koogate.exited).toBe(0);
    // Both workers were draining: each logged some of the eight.
    const drainedBy = new Set(
      koogate.logs
        .map((l) => JSON.parse(l) as Line)
        .filter((l) => l.msg === 'request' && l.path === '/slow' && l.status === 200)
        .map((l) => l.worker),
    );
    expect(drainedBy.size).toBe(2);
    const stop = koogate.logs.findIndex((l) => l.includes('"shutting down"'));
    expect(stop).toBeGreaterThan(-1);
    expect(koogate.logs.slice(stop).some((l) => l.includes('"worker started"') || l.includes('"worker died'))).toBe(false);
    for (const pid of workerPids) expect(() => process.kill(pid, 0)).toThrow(); // every worker is gone
  }, 30_000);
});

describe('KOOGATE_WORKERS settings', () => {
  const run = (env: Record<string, string>) => spawnSync(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env }, encoding: 'utf8', timeout: 20_000 });

  test('more than one worker without Redis is refused at start-up: the memory store lives in one process', async () => {
    const sandbox = await startSandbox({});
    try {
      const env = { ...stackEnv(sandbox, 'http://127.0.0.1:9', newSecrets(), await freePort(), '127.0.0.1'), KOOGATE_WORKERS: '2' };
      const r = run(env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('KOOGATE_WORKERS=2');
      expect(r.stderr).toContain('REDIS_URL');
      expect(r.stderr).toMatch(/memory store/);
      expect(r.stdout).not.toContain('worker started');
    } finally {
      await sandbox.close();
    }
  }, 30_000);
});
