import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { loginCookie } from '../support/login';
import { startReplicaStack, type ReplicaStack } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

const MB = 1024 * 1024;

/** The resident set of another process, from /proc (the test client's own memory is not koogate's). */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Bodies stream through koogate: its memory stays bounded whatever their size. koogate runs as its own
 * process, so what is measured is koogate's memory alone, not the client's that sends and reads 200 MB.
 */
describe('streaming through a koogate process', () => {
  let upstream: TestUpstream;
  let stack: ReplicaStack;
  let cookie: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    stack = await startReplicaStack(upstream.url);
    cookie = await loginCookie(stack.replica.url, stack.sandbox);
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.close();
  });

  test('a 200 MB upload and a 200 MB download with bounded memory', async () => {
    const url = stack.replica.url;
    const pid = stack.replica.pid;
    const before = rssOf(pid);
    let peak = before;
    const sample = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    try {
      const total = 200 * MB;
      const uploaded = await new Promise<{ bytes: number }>((ok, fail) => {
        const req = request(`${url}/upload`, { method: 'POST', headers: { cookie, accept: 'application/json', 'content-type': 'application/octet-stream', 'content-length': String(total) } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => ok(JSON.parse(body) as { bytes: number }));
        });
        req.on('error', fail);
        const chunk = Buffer.alloc(MB, 1);
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += MB;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(uploaded.bytes).toBe(total);

      const downloaded = await new Promise<number>((ok, fail) => {
        request(`${url}/download?bytes=${total}`, { headers: { cookie, accept: '*/*' } }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => ok(n));
        })
          .on('error', fail)
          .end();
      });
      expect(downloaded).toBe(total);
    } finally {
      clearInterval(sample);
    }
    // A body held in memory would be 200 MB: the bound is well below it.
    expect(peak - before).toBeLessThan(100 * MB);
  }, 120_000);
});
