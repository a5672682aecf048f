import { writeSync } from 'node:fs';
import type { LogLevel } from '../config/config';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /** The access-log line of one request: the same line as `info('request', record)`, assembled directly. */
  request(record: AccessRecord): void;
}

/** What the access log says of one request (observability/requests.ts). None of its names is secret. */
export interface AccessRecord {
  requestId: string;
  kind: string;
  method: string | undefined;
  path: string;
  status: number;
  ms: number;
  bytes: number;
  tenantId?: string;
  userName?: string;
  aborted?: true;
}

const ACCESS_NAMES = ['requestId', 'kind', 'method', 'path', 'status', 'ms', 'bytes', 'tenantId', 'userName', 'aborted'];
/** A string member's value: JSON, with URL credentials cut out as everywhere else. */
const str = (v: string) => JSON.stringify(redactUrls(v));

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values never reach a log line, whoever passes them, at any depth. */
const SECRET_FIELD = /secret|password|passwd|token|authorization|cookie|privatekey|accesskey|^(x-?)?sign$|^code$/i;
/** user:password@ inside any URL in any string value. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@:]*(?::[^/\s@]*)?@/gi;
const MAX_DEPTH = 8;

/** A string with the credentials of every URL in it replaced: `redis://:pw@host` → `redis://[redacted]@host`. */
export function redactUrls(s: string): string {
  return s.includes('@') ? s.replace(URL_CREDENTIALS, '$1[redacted]@') : s;
}

function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactUrls(v);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof URL) return redactUrls(v.href);
  if (v instanceof Error) return { name: v.name, message: redactUrls(v.message), code: (v as { code?: unknown }).code };
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  return redactFields(v as LogFields, depth + 1);
}

/** The field names seen so far and whether each is secret: a log line's few fixed names cost one lookup each. */
const secretNames = new Map<string, boolean>();
function isSecretName(k: string): boolean {
  let secret = secretNames.get(k);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(k);
    if (secretNames.size < 4096) secretNames.set(k, secret);
  }
  return secret;
}

function redactFields(fields: LogFields, depth: number): LogFields {
  const out: LogFields = {};
  for (const k in fields) {
    const v = fields[k];
    if (isSecretName(k) && v !== undefined && v !== null && typeof v !== 'boolean') out[k] = '[redacted]';
    else out[k] = redactValue(v, depth);
  }
  return out;
}

/** Fields as they may be logged: secret-named fields blanked at every depth, credentials cut out of URLs. */
export function redact(fields: LogFields): LogFields {
  return redactFields(fields, 0);
}

/**
 * stdout, written in batches: lines gather for at most `flushMs` (or until 64 KiB wait) and go out in one
 * write. A pipe write on Linux is a blocking syscall, and each one wakes whatever reads the pipe (the
 * container runtime's log collector, say): one per access-log line, or even one per event-loop turn,
 * costs the proxied path and the machine dearly. The lines wait as bytes in a buffer outside the
 * JavaScript heap, not as strings: strings kept that long would outlive young-generation collections and
 * be copied into the old generation, which costs more than the line itself. Whatever is still waiting when
 * the process exits is written then, synchronously.
 */
export function bufferedStdout(fd = 1, flushMs = 50): (line: string) => void {
  const CAP = 65536;
  let buf = Buffer.allocUnsafeSlow(CAP);
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    const out = buf.subarray(0, used);
    // The written buffer is stdout's now (a socket writes it later): the next lines go into a new one.
    buf = Buffer.allocUnsafeSlow(CAP);
    used = 0;
    process.stdout.write(out);
  };
  process.once('exit', () => {
    // Nothing may throw here: an exception in an 'exit' listener stops process.exit, and the last-resort
    // handler would turn it into a drain of the full grace period. A reader that is gone (EPIPE: the
    // primary of a worker killed, `koogate | head`) just gets no more lines.
    try {
      if (used > 0) writeSync(fd, buf, 0, used);
    } catch {
      /* nobody left to read them */
    }
    used = 0;
  });
  return (line) => {
    const bytes = Buffer.byteLength(line);
    if (used + bytes > CAP) flush();
    if (bytes > CAP) return void process.stdout.write(line);
    used += buf.write(line, used);
    if (used === CAP) flush();
    // Unref'd: a process with nothing else to do exits, and its exit writes what waits.
    else timer ??= setTimeout(flush, flushMs).unref();
  };
}

let stdoutSink: ((line: string) => void) | undefined;
/** The one buffered stdout of the process, shared by every logger that writes there. */
const defaultSink = (line: string) => (stdoutSink ??= bufferedStdout())(line);

/**
 * JSON lines on a stream (stdout by default): one object per event, secrets redacted by field name at
 * every depth and URL credentials cut out. Hand-written rather than pino: koogate logs a few fixed
 * fields, and this keeps the access log to one JSON.stringify of its fields and a share of a batched write.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = defaultSink, base: LogFields = {}): Logger {
  const min = ORDER[level];
  const safeBase = redact(base);
  // The line is assembled from JSON pieces: the fixed head, the base fields (serialised once) and the
  // event's fields. A field named like a base or head one goes the slow way, where the later one wins.
  const baseTail = members(JSON.stringify(safeBase));
  const taken = new Set(['time', 'level', 'msg', ...Object.keys(safeBase)]);
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    const head = `{"time":"${isoNow()}","level":"${lvl}","msg":${JSON.stringify(redactUrls(msg))}`;
    if (!fields) return write(`${head}${baseTail}}\n`);
    for (const k in fields) {
      if (taken.has(k)) return write(`${JSON.stringify({ time: isoNow(), level: lvl, msg: redactUrls(msg), ...safeBase, ...redact(fields) })}\n`);
    }
    write(`${head}${baseTail}${members(JSON.stringify(redact(fields)))}}\n`);
  };
  // The access line, one per request, skips the walk over its fields: their names are fixed and none is
  // secret, so only its strings need escaping (and URL credentials cut out). Should a base field share a
  // name with it, it goes the general way.
  const accessGeneral = ACCESS_NAMES.some((k) => taken.has(k));
  const request = (r: AccessRecord) => {
    if (ORDER.info < min) return;
    if (accessGeneral) return emit('info', 'request', { ...r });
    let line = `{"time":"${isoNow()}","level":"info","msg":"request"${baseTail},"requestId":${str(r.requestId)},"kind":${str(r.kind)}`;
    if (r.method !== undefined) line += `,"method":${str(r.method)}`;
    line += `,"path":${str(r.path)},"status":${r.status},"ms":${JSON.stringify(r.ms)},"bytes":${JSON.stringify(r.bytes)}`;
    if (r.tenantId !== undefined) line += `,"tenantId":${str(r.tenantId)}`;
    if (r.userName !== undefined) line += `,"userName":${str(r.userName)}`;
    if (r.aborted) line += ',"aborted":true';
    write(`${line}}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger(level, write, { ...base, ...f }),
    request,
  };
}

/** `{"a":1,"b":2}` as `,"a":1,"b":2`, to follow other members; `{}` as nothing. */
function members(json: string): string {
  return json.length <= 2 ? '' : `,${json.slice(1, -1)}`;
}

let isoMs = 0;
let iso = '';
/** The time as ISO 8601, computed once per millisecond however many lines it stamps. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger, request() {} };
