import { request } from 'node:http';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID, newSecrets, stackEnv, syncTenants, type StackSecrets } from '../../src/sandbox/stack';
import { bodies, kitCalls } from '../support/kit';
import { loginCookie } from '../support/login';
import { freePort, startRedis, type RedisServer } from '../support/redis';
import { builtSupport, startReplica, type Replica } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

/** One GET on a connection of its own (with several workers, node:cluster hands each to the next); never throws. */
function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((ok) => {
    const req = request(url, { agent: false, headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode ?? 0));
      res.on('error', () => ok(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => ok(0));
    req.end();
  });
}

/** A line as operators' log pipelines take it: one JSON object. */
function jsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves with the first line koogate wrote (already, or still to come, on either stream) that `match` accepts. */
function outputLine(koogate: Replica, match: (o: Replica['output'][number]) => boolean): Promise<Replica['output'][number]> {
  return new Promise((ok) => {
    const check = () => {
      const found = koogate.output.find(match);
      if (!found) return;
      koogate.child.stdout!.off('data', check);
      koogate.child.stderr!.off('data', check);
      ok(found);
    };
    // After the replica's own listeners: each chunk is in `output` by the time these run.
    koogate.child.stdout!.on('data', check);
    koogate.child.stderr!.on('data', check);
    check();
  });
}

/** Resolves once `cond` holds, checked after every answer the load receives. */
class Progress {
  private readonly waiters: { cond: () => boolean; ok: () => void }[] = [];
  tick(): void {
    for (const w of [...this.waiters]) {
      if (!w.cond()) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.ok();
    }
  }
  until(cond: () => boolean): Promise<void> {
    return cond() ? Promise.resolve() : new Promise((ok) => this.waiters.push({ cond, ok }));
  }
}

/**
 * Operators ship koogate's output to a log pipeline that expects one JSON object a line. Whatever Redis
 * does — going away under load and coming back — nothing else may appear on stdout or stderr: no
 * "[ioredis] Unhandled error event", no library notice, no Node warning.
 */
describe.each([1, 2])('KOOGATE_WORKERS=%i: only JSON lines on stdout and stderr while Redis restarts under load', (workers) => {
  let redis: RedisServer;
  let sandbox: Sandbox;
  let app: TestUpstream;
  let secrets: StackSecrets;
  let koogate: Replica;
  let cookie: string;
  let metricsUrl: string;
  let running = false;

  beforeAll(async () => {
    redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']); // the session outlives the restart
    sandbox = await startSandbox({});
    app = await startTestUpstream();
    secrets = newSecrets();
    const [port, metricsPort] = [await freePort(), await freePort()];
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    koogate = await startReplica({
      ...stackEnv(sandbox, app.url, secrets, port, '127.0.0.1'),
      REDIS_URL: redis.url,
      KOOGATE_WORKERS: String(workers),
      KOOGATE_METRICS_PORT: String(metricsPort),
      // The webhook worker and its queue gauges meet the outage too.
      KOOGATE_WEBHOOK_URL: `${app.url}/webhook`,
      KOOGATE_WEBHOOK_SECRET: 'clean-output-webhook-secret-0123456789',
      // Every proxied request reads its session from Redis.
      KOOGATE_SESSION_CACHE_MS: '0',
      KOOGATE_SHUTDOWN_GRACE_SECONDS: '2',
    });
    sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${koogate.url}/_koogate/callback` });
    await syncTenants(sandbox, koogate.url, secrets);
    cookie = await loginCookie(koogate.url, sandbox);
  }, 60_000);

  afterAll(async () => {
    running = false;
    await koogate?.stop();
    await app?.close();
    await sandbox?.close();
    await redis?.dispose();
  }, 60_000);

  test('through the outage and the recovery, and the stop, every line written parses as a JSON object', async () => {
    const kit = kitCalls(() => ({ baseUrl: koogate.url, accessKey: secrets.accessKey }));
    const progress = new Progress();
    const seen = { ok: 0, failed: 0, proxied: 0 };
    running = true;
    const loop = async (step: (i: number) => Promise<number>, proxied = false) => {
      for (let i = 0; running; i++) {
        const status = await step(i);
        if (status === 200) seen.ok++;
        else seen.failed++;
        if (status === 200 && proxied) seen.proxied++;
        progress.tick();
      }
    };
    let readyz = 0;
    const load = [
      ...Array.from({ length: 16 }, (_, n) => loop((i) => get(`${koogate.url}/api/load/${n}/${i}`, { cookie, accept: 'application/json' }), true)),
      loop(async (i) => {
        const a = await kit.send('tenantSync', bodies.tenant(`t-load-${i % 5}`, `https://id.example/t-load-${i % 5}`)).catch(() => undefined);
        return a?.resultCode === '000000' ? 200 : 500;
      }),
      loop(() => get(metricsUrl)),
      loop(() => get(`${koogate.url}/_koogate/login?returnTo=%2F`)),
      loop(async () => (readyz = await get(`${koogate.url}/_koogate/readyz`))),
    ];

    await progress.until(() => seen.proxied >= 50);
    await redis.stop();
    // The store connection's own line (its first reconnect failed), or whatever else koogate wrote instead.
    await outputLine(koogate, (o) => jsonObject(o.line)?.msg === 'redis connection error' || jsonObject(o.line) === undefined);
    // The load meets the outage: answers that fail.
    const failedBefore = seen.failed;
    await progress.until(() => seen.failed >= failedBefore + 30);
    await redis.start();
    readyz = 0;
    await progress.until(() => readyz === 200);
    // Serving again, the logged-in session too, under the same load.
    const proxiedAgain = seen.proxied;
    await progress.until(() => seen.proxied >= proxiedAgain + 50);
    running = false;
    await Promise.all(load);
    await koogate.stop();
    expect(await koogate.exited).toBe(0);

    const lines = koogate.output.filter((o) => o.line.trim() !== '');
    expect(lines.length).toBeGreaterThan(20);
    const notJson = lines.filter((o) => jsonObject(o.line) === undefined);
    expect({ notJson: notJson.map((o) => `${o.stream}: ${o.line}`) }).toEqual({ notJson: [] });
    // The outage and the recovery were logged, as JSON.
    const msgs = lines.map((o) => (JSON.parse(o.line) as { msg: string }).msg);
    expect(msgs).toEqual(expect.arrayContaining(['redis connection error', 'redis connection restored', 'shutting down']));
  }, 90_000);
});

/**
 * Workers sharing one pipe would cut each other's lines: a batch bigger than the pipe takes in one write
 * (4 KiB), meeting a full pipe, goes out in parts, and another worker's lines land between them. The
 * primary relays each worker's output in whole lines instead.
 */
describe('KOOGATE_WORKERS=2: bursts of lines from both workers to a reader that falls behind', () => {
  const LINES = 3000;
  let redis: RedisServer;
  let sandbox: Sandbox;
  let koogate: Replica;

  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox({});
    const env = { ...stackEnv(sandbox, 'http://127.0.0.1:9', newSecrets(), await freePort(), '127.0.0.1'), REDIS_URL: redis.url, KOOGATE_WORKERS: '2', TEST_BURST_LINES: String(LINES) };
    koogate = await startReplica(env, builtSupport('koogate-log-burst'));
  }, 60_000);

  afterAll(async () => {
    await koogate?.stop();
    await sandbox?.close();
    await redis?.dispose();
  });

  test('every line arrives whole, none lost, and the process still stops cleanly', async () => {
    const workers = koogate.logs.filter((l) => l.includes('"worker listening"')).map((l) => JSON.parse(l) as { worker: number; pid: number });
    expect(workers).toHaveLength(2);
    koogate.child.stdout!.pause();
    for (const w of workers) process.kill(w.pid, 'SIGUSR2');
    // Both workers write their bursts while nothing reads the pipe; then the reader catches up.
    await new Promise((ok) => setTimeout(ok, 300));
    koogate.child.stdout!.resume();
    for (const w of workers) await koogate.waitForLog((l) => l.msg === 'burst done' && l.worker === w.worker);
    await koogate.stop();
    expect(await koogate.exited).toBe(0);

    const notJson = koogate.output.filter((o) => jsonObject(o.line) === undefined);
    expect({ notJson: notJson.slice(0, 10).map((o) => `${o.stream}: ${o.line.slice(0, 300)}`), count: notJson.length }).toEqual({ notJson: [], count: 0 });
    for (const w of workers) {
      const mine = koogate.output.filter((o) => o.line.includes('"burst line"') && o.line.includes(`"worker":${w.worker},`));
      expect(mine).toHaveLength(LINES);
    }
  }, 60_000);
});
