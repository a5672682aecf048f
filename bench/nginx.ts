import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Proc } from './support';

/** How to get nginx, printed when it is missing: the benchmark then runs without it. */
export const NGINX_INSTALL_HINT =
  'nginx is not installed, so it is left out. Install it to compare: `sudo apt-get install nginx` (Debian, Ubuntu), ' +
  '`sudo dnf install nginx` (Fedora, RHEL), `brew install nginx` (macOS); or set NGINX=/path/to/nginx.';

/** The nginx binary: $NGINX, else the first `nginx` on PATH or in the sbin folders, which PATH often lacks. */
export function findNginx(env: Record<string, string | undefined> = process.env): string | undefined {
  const candidates = env.NGINX ? [env.NGINX] : [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/opt/homebrew/bin'].filter(Boolean).map((d) => join(d, 'nginx'));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The reverse proxy a merchant would otherwise put in front of the app, set up as its best case: one
 * worker, keep-alive connections to the upstream, no authentication, no access log (koogate's bench run
 * writes none either), answers not buffered to disk.
 */
export function nginxConf(dir: string, port: number, upstream: URL): string {
  return `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  upstream app {
    server ${upstream.host};
    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
}

/** Starts nginx in front of `upstream` on `port`, with its files in a folder of its own; ready once the port answers. */
export async function startNginx(binary: string, upstream: string, port: number): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'koogate-bench-nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, port, new URL(upstream)));
  const test = spawnSync(binary, ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx refused its configuration: ${test.stderr}`);
  const child = spawn(binary, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<never>((_ok, fail) => child.once('exit', (code) => fail(new Error(`nginx exited ${code}: ${err.slice(-1500)}`))));
  await Promise.race([waitForPort(port), exited]);
  exited.catch(() => {}); // from here on, an exit is the stop we asked for
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((done) => {
        const finish = () => {
          rmSync(dir, { recursive: true, force: true });
          done();
        };
        if (child.exitCode !== null || child.signalCode !== null) return finish();
        child.once('exit', finish);
        child.kill('SIGQUIT'); // nginx's graceful stop
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const open = await new Promise<boolean>((ok) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        ok(true);
      });
      s.once('error', () => ok(false));
    });
    if (open) return;
    if (i > 200) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
