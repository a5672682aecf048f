import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis';

const run = promisify(execFile);

/** Spawns a redis-server (or sentinel) and resolves when its log shows `ready`. */
function spawnUntil(args: string[], ready: string): Promise<ChildProcess> {
  return new Promise((ok, fail) => {
    const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(ready)) {
        out = '';
        ok(p);
      }
    });
    p.once('error', fail);
    p.once('exit', (code) => fail(new Error(`redis-server ${args.join(' ')} exited (${code}): ${out.slice(-500)}`)));
  });
}

const kill = (p: ChildProcess) =>
  new Promise<void>((ok) => {
    if (p.exitCode !== null) return ok();
    p.once('exit', () => ok());
    p.kill('SIGKILL');
  });

export interface HaRedis {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A primary and one Sentinel that monitors it as `mymaster`. */
export async function startSentinel(): Promise<HaRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'koogate-sentinel-'));
  const [pm, ps] = [await freePort(), await freePort()];
  const primary = await spawnUntil(['--port', String(pm), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], 'Ready to accept connections');
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${ps}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${pm} 1\nsentinel down-after-milliseconds mymaster 2000\n`);
  const sentinel = await spawnUntil([conf, '--sentinel'], '+monitor master mymaster');
  return {
    env: { REDIS_SENTINELS: `127.0.0.1:${ps}`, REDIS_SENTINEL_MASTER: 'mymaster' },
    async stop() {
      await Promise.all([kill(sentinel), kill(primary)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port whose cluster bus port (+10000) is free as well. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 10000 > 65535) continue;
    const busFree = await new Promise<boolean>((ok) => {
      const s = createServer();
      s.once('error', () => ok(false));
      s.listen(p + 10000, '127.0.0.1', () => s.close(() => ok(true)));
    });
    if (busFree) return p;
  }
}

/** Three primaries forming a Redis Cluster (no replicas). */
export async function startCluster(): Promise<HaRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'koogate-cluster-'));
  const ports = [await clusterPort(), await clusterPort(), await clusterPort()];
  const nodes = await Promise.all(
    ports.map((p) =>
      spawnUntil(
        ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`],
        'Ready to accept connections',
      ),
    ),
  );
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  for (let i = 0; i < 200; i++) {
    const states = await Promise.all(ports.map(async (p) => (await run('redis-cli', ['-p', String(p), 'cluster', 'info'])).stdout));
    if (states.every((s) => s.includes('cluster_state:ok'))) break;
    await new Promise((t) => setTimeout(t, 50));
  }
  return {
    env: { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') },
    async stop() {
      await Promise.all(nodes.map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
