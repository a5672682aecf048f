import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AccessRecord, Logger } from './logger';
import type { Metrics } from './metrics';

/** What koogate knows of one request while it runs: its id, when it began, and whose it is once known. */
export interface RequestContext {
  readonly id: string;
  readonly started: number;
  /** proxied to the app, or one of koogate's own routes (login, kit sync, probes, APIs). */
  readonly kind: 'proxy' | 'own';
  tenantId?: string;
  userName?: string;
}

const CONTEXT = Symbol('koogate.request');
/** The context as the tracker keeps it: with the connection, as `req.socket` may be gone when the answer closes. */
interface TrackedContext extends RequestContext {
  readonly socket: Socket;
  /** The connection's bytes written before this answer began (the answer's size is the difference). */
  readonly bytesBefore: number;
}
type Tracked = IncomingMessage & { [CONTEXT]?: TrackedContext };

/** The context `RequestTracker.begin` attached to this request (express hands on the same object). */
export function requestContext(req: IncomingMessage): RequestContext | undefined {
  return (req as Tracked)[CONTEXT];
}

/** The request's id for a log line: `{ requestId }`, or nothing outside a tracked request. */
export function requestFields(req: IncomingMessage): { requestId?: string } {
  const ctx = (req as Tracked)[CONTEXT];
  return ctx ? { requestId: ctx.id } : {};
}

/** Ids a proxy may hand us: short, visible ASCII without spaces or quotes (UUIDs, hex, base64url, dotted). */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:+=/@-]{1,128}$/;

export interface RequestTrackerOptions {
  metrics: Metrics;
  /** The access log; none when KOOGATE_ACCESS_LOG is off. */
  accessLog?: Logger;
  /** True when the peer is a trusted proxy (KOOGATE_TRUST_PROXY): only then is its X-Request-Id kept. */
  trusted(remoteAddress: string): boolean;
  /** Where a failure to record a request is reported (once). */
  log?: Logger;
}

/**
 * Gives every request an id (a trusted proxy's `X-Request-Id`, else a fresh UUID), sends it back in
 * `X-Request-Id` (on a proxied request the gateway sends it: in the app's answer's own header list, or on
 * koogate's answer instead), and at the end of the answer records it once: the proxied-request metric and one
 * access-log line. This is the only per-request work observability adds to the proxied path: one
 * listener, two clock reads, one histogram observation and, with the access log on, one buffered line.
 */
export class RequestTracker {
  private failureReported = false;
  /**
   * The 'close' listener of every answer this tracker follows, made once: `this` is the answer (an emitter
   * calls its listeners on itself), whose request holds the context. No closure per request.
   */
  private readonly closed: (this: ServerResponse) => void;

  constructor(private readonly o: RequestTrackerOptions) {
    const tracker = this;
    this.closed = function (this: ServerResponse): void {
      const req = this.req as Tracked;
      const ctx = req[CONTEXT];
      if (!ctx) return;
      // The answer has gone out: whatever fails in recording it must not reach the process (a throw in a
      // 'close' listener is an uncaught exception).
      try {
        tracker.end(req, this, ctx, ctx.socket.bytesWritten - ctx.bytesBefore);
      } catch (e) {
        tracker.recordFailed(e);
      }
    };
  }

  /** Recording an answer failed: said once, not once per request. */
  private recordFailed(e: unknown): void {
    if (this.failureReported) return;
    this.failureReported = true;
    this.o.log?.error('request record failed', { err: e instanceof Error ? e : String(e) });
  }

  begin(req: IncomingMessage, res: ServerResponse, kind: RequestContext['kind']): RequestContext {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && ACCEPTABLE_ID.test(given) && this.o.trusted(req.socket.remoteAddress ?? '') ? given : randomUUID();
    const socket = req.socket;
    const ctx: TrackedContext = { id, started: performance.now(), kind, bytesBefore: socket.bytesWritten, socket };
    (req as Tracked)[CONTEXT] = ctx;
    if (kind === 'own') res.setHeader('X-Request-Id', id);
    // 'close' comes once per answer: on, not once (no wrapper), with the tracker's one listener.
    res.on('close', this.closed);
    return ctx;
  }

  /** The answer to this request closed: record it. */
  private end(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, bytes: number): void {
    const ms = performance.now() - ctx.started;
    // An answer cut short before its headers went out reached the client as nothing at all.
    const status = res.headersSent ? res.statusCode : 0;
    if (ctx.kind === 'proxy') this.o.metrics.proxiedRequest(status || 499, ms / 1000);
    const log = this.o.accessLog;
    if (!log) return;
    // express rewrites req.url inside mounted routers; originalUrl is what the client asked for.
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    const record: AccessRecord = {
      requestId: ctx.id,
      kind: ctx.kind,
      method: req.method,
      path: q < 0 ? url : url.slice(0, q),
      status,
      ms: Math.round(ms * 10) / 10,
      bytes,
      tenantId: ctx.tenantId,
      userName: ctx.userName,
    };
    if (!res.writableFinished) record.aborted = true;
    log.request(record);
  }
}
