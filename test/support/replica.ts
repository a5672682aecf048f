import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Replica {
  url: string;
  /** Every log line the process wrote. */
  logs: string[];
  stop(): Promise<void>;
}

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

/** koogate as its own OS process (built by the jest global setup), ready once it logs that it listens. */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', KOOGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let buf = '';
  const url = await new Promise<string>((ok, fail) => {
    const onData = (b: Buffer) => {
      buf += b.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        if (line.includes('"koogate listening"')) ok(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    child.once('exit', (code) => fail(new Error(`koogate exited with ${code}: ${logs.join('\n').slice(-2000)}`)));
  });
  return {
    url,
    logs,
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
