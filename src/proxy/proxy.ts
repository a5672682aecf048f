import { Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createProxyServer } from 'http-proxy-3';
import type { Request, Response } from 'express';
import { KoogateError } from '../errors';
import type { Logger } from '../observability/logger';

export interface UpstreamProxyOptions {
  target: URL;
  log: Logger;
  onError(req: Request, res: Response, err: KoogateError): void;
}

export interface UpstreamProxy {
  forward(req: Request, res: Response): void;
  close(): void;
}

/**
 * Streams a request to the ISV app and its answer back. A keep-alive agent is essential: without one
 * every proxied request opens a new upstream connection (and sends Connection: close).
 */
export function createUpstreamProxy(opts: UpstreamProxyOptions): UpstreamProxy {
  const agent =
    opts.target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 512 }) : new HttpAgent({ keepAlive: true, maxSockets: 512 });
  const proxy = createProxyServer({ target: opts.target.toString(), agent, xfwd: false, changeOrigin: false, ws: false });
  proxy.on('error', (err: Error, req: IncomingMessage, res: ServerResponse | unknown) => {
    opts.log.warn('upstream unavailable', { err: err.message, code: (err as NodeJS.ErrnoException).code, path: req.url });
    const r = res as Response;
    if (typeof r?.status !== 'function' || r.headersSent) {
      (r as { destroy?: () => void })?.destroy?.();
      return;
    }
    opts.onError(req as Request, r, new KoogateError('KOOGATE_UPSTREAM_UNAVAILABLE', 'The application is not answering.', { reason: err.message }));
  });
  return {
    forward(req, res) {
      req.url = req.originalUrl;
      setForwardedHeaders(req);
      proxy.web(req, res);
    },
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}

/** X-Forwarded-For/-Proto/-Host as seen by koogate; a client's own values survive only behind trusted proxies. */
function setForwardedHeaders(req: Request): void {
  const trusted = Boolean(req.app.get('trust proxy fn')?.(req.socket.remoteAddress ?? '', 0));
  const remote = req.socket.remoteAddress ?? '';
  const prior = trusted ? req.headers['x-forwarded-for'] : undefined;
  req.headers['x-forwarded-for'] = prior ? `${String(prior)}, ${remote}` : remote;
  req.headers['x-forwarded-proto'] = req.protocol;
  const host = trusted ? (req.headers['x-forwarded-host'] ?? req.headers.host) : req.headers.host;
  if (host) req.headers['x-forwarded-host'] = String(host);
  else delete req.headers['x-forwarded-host'];
}
