import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The requests a server is answering, so that shutdown can let them finish: readyz reports 503 once
 * draining has begun, answers written from then on close their connection, and `settled` resolves when
 * the last one is done (or the grace period is over).
 */
export class Drain {
  private open = 0;
  private draining = false;
  private onIdle?: () => void;

  /** Called first for every request the server takes. */
  readonly track = (_req: IncomingMessage, res: ServerResponse): void => {
    if (this.draining) res.shouldKeepAlive = false;
    this.open++;
    // 'close' comes once per answer: one listener shared by all of them, no closure per request.
    res.on('close', this.closed);
  };

  private readonly closed = (): void => {
    if (--this.open === 0) this.onIdle?.();
  };

  get isDraining(): boolean {
    return this.draining;
  }

  get inFlight(): number {
    return this.open;
  }

  /**
   * Stops the listener and lets in-flight requests and streams finish, for up to `graceMs`. Keep-alive
   * connections are closed as soon as they are idle. Resolves true when every request finished in time.
   */
  async settle(server: Server, graceMs: number): Promise<boolean> {
    this.draining = true;
    server.close();
    server.closeIdleConnections();
    // A connection busy when draining began turns idle only once its answer is done (answers begun from
    // now on say Connection: close themselves).
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.open === 0) return true;
      return await new Promise<boolean>((ok) => {
        this.onIdle = () => ok(true);
        timer = setTimeout(() => ok(false), graceMs);
      });
    } finally {
      clearInterval(sweep);
      clearTimeout(timer);
      this.onIdle = undefined;
    }
  }
}
