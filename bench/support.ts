import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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

/** Resident memory of another process (Linux /proc, else ps), in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  } catch {
    const kb = await new Promise<string>((ok, fail) => execFile('ps', ['-o', 'rss=', '-p', String(pid)], (e, out) => (e ? fail(e) : ok(out))));
    return Number(kb.trim()) * 1024;
  }
}

/**
 * CPU time (user + system, ms) used so far by a process and its children that are still running (nginx's
 * worker, koogate's workers); Linux only, else undefined. Less noisy than throughput on a shared machine.
 */
export async function cpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ms = ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    for (const child of children.split(' ').filter(Boolean)) ms += (await cpuMs(Number(child))) ?? 0;
    return ms;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux that matters. */
const CLOCK_TICKS = 100;
