import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startDemoApp } from '../../src/sandbox/demo-app';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID, newSecrets, stackEnv, syncTenants, type StackSecrets } from '../../src/sandbox/stack';
import { freePort, startRedis, type RedisServer } from './redis';

export interface Replica {
  url: string;
  pid: number;
  /** Every log line the process wrote. */
  logs: string[];
  /**
   * Every line of stdout and of stderr as written, each stream split on its own (a last line without a
   * newline included once the process has closed them).
   */
  output: { stream: 'stdout' | 'stderr'; line: string }[];
  /** The OS process, for signals. */
  child: ChildProcess;
  /**
   * The first JSON log line, already written or still to come, that `match` accepts; rejects once the
   * process has ended without writing one.
   */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited (null when a signal ended it). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const DIST = join(__dirname, '..', '..', 'dist');
const MAIN = join(DIST, 'src', 'main.js');

/** A script of test/support/ as built into dist/ (tsconfig.build.json lists the ones a test runs as a process). */
export const builtSupport = (name: string): string => join(DIST, 'test', 'support', `${name}.js`);

/**
 * koogate as its own OS process (built by the jest global setup), ready once it logs that it listens.
 * `entry` is the script the process runs: koogate's own main.js unless a test brings its own wrapper.
 */
export async function startReplica(env: Record<string, string>, entry = MAIN): Promise<Replica> {
  const child: ChildProcess = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', KOOGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const output: Replica['output'] = [];
  const rest = { stdout: '', stderr: '' };
  const split = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
    const lines = (rest[stream] + b.toString()).split('\n');
    rest[stream] = lines.pop()!;
    for (const line of lines) output.push({ stream, line });
  };
  child.stdout!.on('data', split('stdout'));
  child.stderr!.on('data', split('stderr'));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const waiters: { match: (line: Record<string, unknown>) => boolean; ok: (line: Record<string, unknown>) => void; fail: (e: Error) => void }[] = [];
  let ended = false;
  // 'close', not 'exit': the last lines may still be on their way through the pipe when the process exits.
  child.once('close', (code) => {
    ended = true;
    for (const stream of ['stdout', 'stderr'] as const) if (rest[stream] !== '') output.push({ stream, line: rest[stream] });
    for (const w of waiters.splice(0)) w.fail(new Error(`koogate ended (${code}) without the log line awaited`));
  });
  const parse = (line: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  let buf = '';
  const url = await new Promise<string>((ok, fail) => {
    const onData = (b: Buffer) => {
      buf += b.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        const json = parse(line);
        for (const w of json ? [...waiters] : []) {
          if (!w.match(json!)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.ok(json!);
        }
        if (line.includes('"koogate listening"')) ok(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    child.once('exit', (code) => fail(new Error(`koogate exited with ${code}: ${logs.join('\n').slice(-2000)}`)));
  });
  return {
    url,
    pid: child.pid!,
    logs,
    output,
    child,
    exited,
    waitForLog: (match) =>
      new Promise((ok, fail) => {
        const seen = logs.map(parse).find((l) => l && match(l));
        if (seen) return ok(seen);
        if (ended) return fail(new Error('koogate ended without the log line awaited'));
        waiters.push({ match, ok, fail });
      }),
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
        // A replica that does not stop in time is a finding of its own, but must not hold the suite.
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

export interface ReplicaPair {
  redis: RedisServer;
  sandbox: Sandbox;
  secrets: StackSecrets;
  a: Replica;
  b: Replica;
  stop(): Promise<void>;
}

/**
 * Two koogate processes on one private Redis, in front of the demo app, logging in through one stand-in
 * marketplace, with the demo tenants synced: the deployment operators run. Both serve A's public URL.
 */
export async function startReplicaPair(opts: { env?: Record<string, string>; redisArgs?: string[]; upstreamUrl?: string } = {}): Promise<ReplicaPair> {
  const redis = await startRedis(opts.redisArgs);
  const sandbox = await startSandbox({});
  const app = opts.upstreamUrl ? { url: opts.upstreamUrl, close: async () => {} } : await startDemoApp({});
  const secrets = newSecrets();
  const [pa, pb] = [await freePort(), await freePort()];
  const env = (port: number) => ({
    ...stackEnv(sandbox, app.url, secrets, port, '127.0.0.1'),
    KOOGATE_PUBLIC_URL: `http://127.0.0.1:${pa}`,
    REDIS_URL: redis.url,
    ...opts.env,
  });
  const [a, b] = await Promise.all([startReplica(env(pa)), startReplica(env(pb))]);
  sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `http://127.0.0.1:${pa}/_koogate/callback` });
  await syncTenants(sandbox, a.url, secrets);
  return {
    redis,
    sandbox,
    secrets,
    a,
    b,
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      await app.close();
      await sandbox.close();
      await redis.dispose();
    },
  };
}

export interface ReplicaStack {
  sandbox: Sandbox;
  secrets: StackSecrets;
  replica: Replica;
  stop(): Promise<void>;
}

/**
 * One koogate process (in-memory store unless REDIS_URL is given) in front of `upstreamUrl`, the demo tenants
 * synced; `entry` as for startReplica.
 */
export async function startReplicaStack(upstreamUrl: string, env: Record<string, string> = {}, entry?: string): Promise<ReplicaStack> {
  const sandbox = await startSandbox({});
  const secrets = newSecrets();
  const port = await freePort();
  const replica = await startReplica({ ...stackEnv(sandbox, upstreamUrl, secrets, port, '127.0.0.1'), ...env }, entry);
  sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `http://127.0.0.1:${port}/_koogate/callback` });
  await syncTenants(sandbox, replica.url, secrets);
  return {
    sandbox,
    secrets,
    replica,
    async stop() {
      await replica.stop();
      await sandbox.close();
    },
  };
}
