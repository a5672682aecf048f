import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { KoogateError } from '../core/errors';
import type { UpstreamSettings } from '../config/config';
import type { Logger } from '../observability/logger';
import { Exchange, type UpstreamError } from './exchange';
import { endToEndResponseHeaders } from './headers';

export interface ForwarderOptions {
  /** The app, and its limits: it must start answering (headers) within `timeoutMs` (0: no limit); bodies stream for as long as they take. */
  upstream: UpstreamSettings;
  log: Logger;
}

export type { UpstreamError } from './exchange';

/**
 * Streams requests to the ISV app and answers back: undici's connection pool for ordinary requests (its
 * client is much cheaper per request than node:http's), node:http for upgrades. No buffering, hop-by-hop
 * fields dropped both ways, a bounded wait for the answer to start.
 */
export class Forwarder {
  private readonly pool: Pool;
  private readonly request: typeof httpRequest;
  private readonly basePath: string;
  private readonly target: URL;

  constructor(private readonly o: ForwarderOptions) {
    const up = o.upstream;
    this.target = up.url;
    this.pool = new Pool(up.url.origin, {
      connections: up.maxSockets,
      keepAliveTimeout: up.keepAliveMs || 1,
      headersTimeout: up.timeoutMs,
      // Bodies (downloads, server-sent events, long polls) stream for as long as they take.
      bodyTimeout: 0,
    });
    this.request = up.url.protocol === 'https:' ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
    this.basePath = up.url.pathname.replace(/\/+$/, '');
  }

  private options(req: IncomingMessage, headers: Record<string, string | string[]>) {
    return {
      protocol: this.target.protocol,
      hostname: this.target.hostname,
      port: this.target.port,
      method: req.method,
      path: this.basePath + (req.url ?? '/'),
      headers,
    };
  }

  /**
   * Sends `req` upstream with `headers` and streams the answer into `res` (with `setCookie`, koogate's own,
   * beside the app's, and the request's id); `onError` answers failures before any byte was sent.
   */
  web(req: IncomingMessage, res: ServerResponse, headers: Record<string, string | string[]>, onError: UpstreamError, setCookie?: string, requestId?: string): void {
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    // dispatch, not request: no promise and no Readable per request (proxy/exchange.ts). It reports every
    // failure, a header undici refuses included, to the handler's onError.
    this.pool.dispatch(
      {
        path: this.basePath + (req.url ?? '/'),
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        body: hasBody ? req : null,
        reset: this.o.upstream.keepAliveMs === 0,
      },
      new Exchange(req, res, onError, this.o.log, setCookie, requestId),
    );
  }

  /**
   * Opens a websocket (or any HTTP upgrade) upstream and splices the two sockets. Resolves with the
   * upstream socket once switched, or null when upstream refused (its answer is relayed) or failed
   * (`onError` answers it).
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, headers: Record<string, string | string[]>, onError: UpstreamError): Promise<Duplex | null> {
    // A request node:http refuses to build (a bad header value) rejects: the caller answers on the socket.
    return new Promise((resolve) => {
      const up = this.request({ ...this.options(req, { ...headers, connection: 'Upgrade', upgrade: String(req.headers.upgrade ?? 'websocket') }), agent: false });
      up.on('upgrade', (upRes, upSocket, upHead) => {
        socket.write(statusLine(101, upRes.statusMessage ?? 'Switching Protocols') + rawHeaderLines(upRes.rawHeaders) + '\r\n');
        if (upHead.length) socket.write(upHead);
        if (head.length) upSocket.write(head);
        upSocket.pipe(socket).pipe(upSocket);
        const close = () => {
          upSocket.destroy();
          socket.destroy();
        };
        upSocket.on('error', close);
        socket.on('error', close);
        upSocket.on('close', close);
        socket.on('close', close);
        resolve(upSocket);
      });
      up.on('response', (upRes) => {
        socket.write(statusLine(upRes.statusCode ?? 502, upRes.statusMessage ?? '') + rawHeaderLines(endToEndResponseHeaders(upRes)) + 'Connection: close\r\n\r\n');
        upRes.pipe(socket);
        resolve(null);
      });
      up.on('error', (err) => {
        this.o.log.warn('upstream failed', { errorCode: 'KOOGATE_UPSTREAM_UNAVAILABLE', reason: (err as NodeJS.ErrnoException).code ?? err.message, upgrade: true });
        onError(new KoogateError('KOOGATE_UPSTREAM_UNAVAILABLE', 'The application is not answering.', { reason: err.message }));
        resolve(null);
      });
      socket.on('error', () => up.destroy());
      up.end();
    });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

const statusLine = (code: number, msg: string) => `HTTP/1.1 ${code} ${msg}\r\n`;

function rawHeaderLines(raw: string[]): string {
  let s = '';
  for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return s;
}
