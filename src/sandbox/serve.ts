import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Served {
  /** http://host:port as a browser on this machine reaches it. */
  url: string;
  /** Closes the server and every open socket (keep-alive, hung requests) at once. */
  close(): Promise<void>;
}

/** Listens with `handler` on host:port (0: a free one): the stand-in marketplace's and the demo app's server. */
export async function serve(handler: RequestListener, host: string, port: number): Promise<Served> {
  const server: Server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  let closed = false;
  return {
    url: `http://${urlHost(host)}:${addr.port}`,
    async close() {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
