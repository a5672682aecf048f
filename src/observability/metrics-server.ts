import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger';

/** What a scrape answers: one process's Metrics, or the primary's sum of its workers'. */
export interface MetricsSource {
  scrape(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

/**
 * The metrics listener: `GET /metrics` in Prometheus text format on its own port and interface
 * (KOOGATE_METRICS_PORT, KOOGATE_METRICS_HOST), never on the public port, so the series and process
 * details never reach browsers or the internet through the load balancer. With several workers only the
 * primary opens it.
 */
export async function startMetricsListener(metrics: MetricsSource, port: number, host: string, log: Logger): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (e: unknown) => {
        log.error('metrics scrape failed', { err: e instanceof Error ? e.message : String(e) });
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('scrape failed\n');
      },
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const bound = (server.address() as AddressInfo).port;
  log.info('metrics listening', { metricsPort: bound, metricsHost: host, path: '/metrics' });
  return {
    port: bound,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
