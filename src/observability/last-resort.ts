import type { Logger } from './logger';

/**
 * The process-wide handlers of errors nothing else caught. Every request and upgrade path handles its own
 * failures; reaching these means a bug, logged as one JSON line.
 *
 * - An unhandled rejection is logged and koogate keeps serving: a promise that failed unobserved has not
 *   left half-run synchronous code behind, and ending the process would end every user's requests.
 * - An uncaught exception is logged and koogate shuts down gracefully (`fatal`): state may be half
 *   updated, so it stops taking requests, lets in-flight ones finish and exits 1 for the orchestrator
 *   to replace it.
 */
export function installLastResort(proc: NodeJS.EventEmitter, log: Logger, fatal: (reason: string) => void): void {
  proc.on('unhandledRejection', (reason: unknown) => {
    log.error('unhandled rejection; still serving', describe(reason));
  });
  proc.on('uncaughtException', (err: unknown) => {
    log.error('uncaught exception; shutting down', describe(err));
    fatal('uncaughtException');
  });
}

/**
 * The error as logged: name, message, its code as `errorCode` (the logger blanks any field named `code`,
 * which is how OAuth codes stay out of the log) and the first lines of the stack.
 */
function describe(e: unknown): Record<string, unknown> {
  if (e instanceof Error) return { err: { name: e.name, message: e.message, errorCode: (e as { code?: unknown }).code, stack: e.stack?.split('\n').slice(0, 6).join('\n') } };
  return { err: String(e) };
}
