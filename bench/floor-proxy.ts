import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

/**
 * The floor of any proxy on node:http and undici, koogate's own stack: the request's headers passed on
 * as they are, an undici dispatch handler writing the answer straight into the response, nothing else (no
 * hop-by-hop handling, no forwarding or identity headers, no session, no request id, metric or log).
 * koogate can come near it, never below it.
 */
const pool = new Pool(process.argv[2]!, { connections: 256, keepAliveTimeout: 60_000 });

class Answer implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[]): boolean {
    const list: string[] = [];
    for (let i = 0; i < raw.length; i += 2) list.push(raw[i]!.toString('latin1'), raw[i + 1]!.toString('latin1'));
    this.res.writeHead(status, list);
    return true;
  }
  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  onComplete(): void {
    this.res.end();
  }
  onError(): void {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

const server = createServer((req, res) => {
  pool.dispatch({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: req.headers as Record<string, string>, body: null }, new Answer(res));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
