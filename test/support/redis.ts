import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/** A private redis-server on a free port, for one test file. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'koogate-redis-'));
  let proc: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((ok, fail) => {
      const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc = p;
      let out = '';
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('Ready to accept connections')) {
          p.stdout?.off('data', onData);
          p.stdout?.resume();
          ok();
        }
      };
      p.stdout?.on('data', onData);
      p.once('error', fail);
      p.once('exit', (code) => {
        if (!out.includes('Ready to accept')) fail(new Error(`redis-server exited (${code}): ${out.slice(-500)}`));
      });
    });
  const stop = () =>
    new Promise<void>((ok) => {
      const p = proc;
      if (!p || p.exitCode !== null) return ok();
      p.once('exit', () => ok());
      p.kill('SIGKILL');
    });
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

