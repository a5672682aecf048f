import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { KoogateError } from '../core/errors';
import type { Logger } from '../observability/logger';
import { requestFields } from '../observability/requests';

export type UpstreamError = (err: KoogateError) => void;

/** Hop-by-hop fields (RFC 9110 §7.6.1) and their older companions, by length first: most names are no candidate. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings']);
const HOP_BY_HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));

/**
 * The app's answer headers (undici's raw name/value buffers) as the flat list `res.writeHead` takes:
 * end-to-end fields only (hop-by-hop ones and any the app's Connection field names dropped), with
 * koogate's own Set-Cookie kept beside the app's, and koogate's X-Request-Id unless the app sent its own.
 */
export function answerHeaders(raw: Buffer[], setCookie: string | undefined, requestId?: string): { list: string[]; eventStream: boolean } {
  const list: string[] = [];
  let listed: Set<string> | undefined;
  let eventStream = false;
  let appId = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const value = raw[i + 1]!.toString('latin1');
    if (HOP_BY_HOP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') for (const t of value.split(',')) (listed ??= new Set()).add(t.trim().toLowerCase());
      if (HOP_BY_HOP.has(lower)) continue;
    }
    if (name.length === 12) {
      const lower = name.toLowerCase();
      if (lower === 'content-type' && value.startsWith('text/event-stream')) eventStream = true;
      else if (lower === 'x-request-id') appId = true;
    }
    list.push(name, value);
  }
  if (listed) {
    const kept: string[] = [];
    for (let i = 0; i < list.length; i += 2) if (!listed.has(list[i]!.toLowerCase())) kept.push(list[i]!, list[i + 1]!);
    list.length = 0;
    list.push(...kept);
  }
  if (setCookie) list.push('set-cookie', setCookie);
  if (requestId && !appId) list.push('x-request-id', requestId);
  return { list, eventStream };
}

/**
 * `res.writeHead` with the app's headers. With none set on `res` before (the common case: the request id
 * travels in the list), the flat list goes as it is. Otherwise (a cleared cookie, say) node:http would merge the list by setHeader, keeping only
 * the last of repeated fields such as Set-Cookie: each is appended instead, the app's replacing a
 * koogate field of the same name, as before.
 */
function writeAnswerHead(res: ServerResponse, statusCode: number, list: string[]): void {
  if (res.getHeaderNames().length === 0) return void res.writeHead(statusCode, list);
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const lower = name.toLowerCase();
    if (!seen.has(lower)) {
      seen.add(lower);
      res.removeHeader(name);
    }
    res.appendHeader(name, list[i + 1]!);
  }
  res.writeHead(statusCode);
}

/**
 * One proxied request as an undici dispatch handler: the answer's status and headers go into `res` in one
 * writeHead, and each body chunk straight into it, with backpressure both ways (a full `res` pauses the
 * upstream socket until it drains). undici's `request` wraps the same handler in a promise and a
 * Readable that is then piped; the profile showed that layer as a good share of the proxy's time.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private clientGone = false;
  /** This exchange has already been answered as a failure: later errors (our own abort's among them) change nothing. */
  private failed = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly onFailure: UpstreamError,
    private readonly log: Logger,
    /** koogate's own Set-Cookie (a session extended on this request), sent with the app's answer. */
    private readonly setCookie: string | undefined,
    /** The request's id, sent back in X-Request-Id (the app's own, if it sends one, goes instead). */
    private readonly requestId?: string,
  ) {
    res.on('close', this.onClientClose);
  }

  /** The client went away before the answer was complete: stop the upstream work too. */
  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.abortUpstream?.();
  };

  onConnect(abort: (err?: Error) => void): void {
    if (this.clientGone) return abort();
    this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 103 Early Hints and the like: the final answer follows
    const res = this.res;
    const { list, eventStream } = answerHeaders(rawHeaders, this.setCookie, this.requestId);
    try {
      writeAnswerHead(res, statusCode, list);
    } catch (e) {
      // The app answered with a header node:http will not send on (an invalid character, say); none of
      // its fields may stay behind on the error answer.
      for (let i = 0; i < list.length; i += 2) res.removeHeader(list[i]!);
      this.log.warn('upstream answer refused', { ...requestFields(this.req), errorCode: 'KOOGATE_UPSTREAM_UNAVAILABLE', reason: e instanceof Error ? e.message : String(e), method: this.req.method, path: this.req.url?.split('?')[0] });
      this.fail(new KoogateError('KOOGATE_UPSTREAM_UNAVAILABLE', 'The application gave an answer koogate cannot pass on.', { reason: 'invalid answer header' }));
      this.abortUpstream?.();
      return false;
    }
    // Server-sent events and long polls must not wait in a buffer.
    if (eventStream) res.flushHeaders();
    this.resume = resume;
    return true;
  }

  private readonly onDrain = (): void => this.resume?.();

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    this.res.end();
  }

  onError(err: Error & { code?: string }): void {
    if (this.failed) return;
    const res = this.res;
    if (this.clientGone || res.headersSent || res.destroyed) return void res.destroy();
    const code = err.code === 'UND_ERR_HEADERS_TIMEOUT' ? 'KOOGATE_UPSTREAM_TIMEOUT' : 'KOOGATE_UPSTREAM_UNAVAILABLE';
    this.log.warn('upstream failed', { ...requestFields(this.req), errorCode: code, reason: (err.cause as { code?: string } | undefined)?.code ?? err.code ?? err.message, method: this.req.method, path: this.req.url?.split('?')[0] });
    this.fail(new KoogateError(code, 'The application is not answering.', { reason: err.message }));
  }

  /** The error answer instead of the app's, still carrying koogate's own cookie. */
  private fail(err: KoogateError): void {
    this.failed = true;
    if (this.setCookie) this.res.setHeader('Set-Cookie', this.setCookie);
    this.onFailure(err);
  }
}
