import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export interface TestUpstream {
  url: string;
  seen: SeenRequest[];
  /** Resolves once `n` requests whose path starts with `prefix` have arrived (counting those already seen). */
  arrived(prefix: string, n: number): Promise<void>;
  /** Websocket connections currently open at the app. */
  openSockets(): number;
  /** Answers every request held at `/held` so far (200, `released`); until then they wait, however long. */
  release(): void;
  close(): Promise<void>;
}

/**
 * An app for proxy tests: echoes requests, streams large bodies both ways without holding them, serves
 * server-sent events and a websocket echo, and can be slow (for a time, or until released) or drop hop-by-hop
 * tricks on its answers.
 */
export async function startTestUpstream(): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const arrivals = new EventEmitter();
  const held = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    arrivals.emit('request');
    // Appended, not resolved: a path such as `//%09/x` is a path here, not a host.
    const url = new URL(`http://x${req.url ?? '/'}`);
    if (url.pathname === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      return;
    }
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes') ?? 0);
      const chunk = Buffer.alloc(64 * 1024, 7);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`id: ${++n}\ndata: tick ${n}\n\n`);
        if (n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 20);
      req.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/slow') {
      const t = setTimeout(() => res.end('late'), Number(url.searchParams.get('ms') ?? 1000));
      req.on('close', () => clearTimeout(t));
      return;
    }
    if (url.pathname === '/held') {
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    if (url.pathname === '/own-id') {
      res.writeHead(200, { 'x-request-id': 'app-chosen-id', 'content-type': 'text/plain' });
      return void res.end('ok');
    }
    if (url.pathname === '/reset') return void req.socket.destroy();
    if (url.pathname === '/hop') {
      res.writeHead(200, { connection: 'x-secret-hop, keep-alive', 'x-secret-hop': 'should not pass', 'x-end-to-end': 'kept', 'set-cookie': ['a=1', 'b=2'] });
      return void res.end('ok');
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ hello: req.headers['x-forwarded-user'] ?? null }));
    ws.on('message', (m) => ws.send(m.toString()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    arrived: (prefix, n) =>
      new Promise<void>((ok) => {
        const check = () => {
          if (seen.filter((r) => r.url.startsWith(prefix)).length < n) return;
          arrivals.off('request', check);
          ok();
        };
        arrivals.on('request', check);
        check();
      }),
    openSockets: () => wss.clients.size,
    release: () => {
      for (const res of held) res.end('released');
      held.clear();
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
