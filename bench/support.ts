import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';

/** A child process that prints `READY <url>` (bench servers) or koogate's "koogate listening" log line. */
export interface Proc {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function startProc(script: string, args: string[], env: Record<string, string> = {}): Promise<Proc> {
  // BENCH_PROFILE_DIR: write a CPU profile of every server process there (chrome://inspect, speedscope).
  const prof = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...prof, script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const ready = /READY (\S+)/.exec(out) ?? /"koogate listening".*?"port":(\d+)/.exec(out);
      if (!ready) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      const url = ready[1]!.startsWith('http') ? ready[1]! : `http://127.0.0.1:${ready[1]}`;
      ok({
        url,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => fail(new Error(`${script} exited ${code}: ${out.slice(-1500)}`)));
  });
}

export const here = (name: string) => join(__dirname, name);

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

/** One autocannon run; latencies in milliseconds. */
export async function load(url: string, opts: { seconds: number; connections: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const r = await autocannon({ url, duration: opts.seconds, connections: opts.connections, headers: opts.headers });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, requests: r.requests.total };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
