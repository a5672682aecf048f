import { writeSync } from 'node:fs';
import type { LogLevel } from '../config/config';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

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

function redactFields(fields: LogFields, depth: number): LogFields {
  const out: LogFields = {};
  for (const k in fields) {
    const v = fields[k];
    if (SECRET_FIELD.test(k) && v !== undefined && v !== null && typeof v !== 'boolean') out[k] = '[redacted]';
    else out[k] = redactValue(v, depth);
  }
  return out;
}

/** Fields as they may be logged: secret-named fields blanked at every depth, credentials cut out of URLs. */
export function redact(fields: LogFields): LogFields {
  return redactFields(fields, 0);
}

/**
 * stdout, written in batches: the lines of one turn of the event loop go out in one write when the turn
 * ends (or once 64 KiB wait). A pipe write on Linux is a blocking syscall, so one per access-log line
 * would cost the proxied path dearly. Whatever is still waiting when the process exits is written then.
 */
export function bufferedStdout(fd = 1): (line: string) => void {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const out = pending;
    pending = '';
    process.stdout.write(out);
  };
  process.once('exit', () => {
    if (pending !== '') writeSync(fd, pending);
    pending = '';
  });
  return (line) => {
    pending += line;
    if (pending.length >= 65536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

let stdoutSink: ((line: string) => void) | undefined;
/** The one buffered stdout of the process, shared by every logger that writes there. */
const defaultSink = (line: string) => (stdoutSink ??= bufferedStdout())(line);

/**
 * JSON lines on a stream (stdout by default): one object per event, secrets redacted by field name at
 * every depth and URL credentials cut out. Hand-written rather than pino: koogate logs a few fixed
 * fields, and this keeps the access log to one JSON.stringify and a buffered write per request.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = defaultSink, base: LogFields = {}): Logger {
  const min = ORDER[level];
  const safeBase = redact(base);
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: redactUrls(msg), ...safeBase, ...(fields ? redact(fields) : undefined) })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger(level, write, { ...base, ...f }),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
