import type { Request, Response } from 'express';

/** A forced answer: a status with a body (JSON, or text when a string), no answer at all, or a reset connection. */
export type SandboxFailure = { status: number; body: unknown } | 'hang' | 'reset';

/**
 * The fault-injection room: delays, forced answers, requests that hang or whose connection is reset
 * (SandboxBehaviour's failToken, failUserinfo, tokenDelayMs, userinfoDelayMs; the open API rooms' failNext).
 * Any room may ask it.
 */
export class Faults {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  /** True once the sandbox is closing: a delayed handler then gives up without answering. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Waits `ms` (a delay tests asked for); cut short when the sandbox closes. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Applies a forced failure; returns true when the request has been dealt with. */
  apply(req: Request, res: Response, failure: SandboxFailure | undefined): boolean {
    if (failure === undefined) return false;
    if (failure === 'hang') return true; // never answer; close() destroys the socket
    if (failure === 'reset') {
      req.socket.destroy();
      return true;
    }
    res.status(failure.status).set('Cache-Control', 'no-store');
    if (typeof failure.body === 'string') res.type('text/plain').send(failure.body);
    else res.json(failure.body);
    return true;
  }

  close(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
