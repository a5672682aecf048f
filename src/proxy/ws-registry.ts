import type { Duplex } from 'node:stream';
import type { MarketplaceUser } from '../core/identity';
import type { Logger } from '../observability/logger';
import type { AuthOutcome } from '../sessions/authenticator';
import type { Invalidation } from '../sessions/invalidation';

/** Close code sent to the browser when the session behind a websocket ends (logout, revocation, expiry). */
export const WS_CLOSE_SESSION_ENDED = 4401;

export interface WebSocketConnection {
  sid: string;
  cookie: string | undefined;
  user: MarketplaceUser;
  client: Duplex;
  upstream: Duplex;
}

/**
 * Open websockets by session, so that a session's end closes them on whichever replica holds them:
 * at once on an invalidation message, and by a periodic re-check for expiry.
 */
export class WebSocketRegistry {
  private readonly open = new Set<WebSocketConnection>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly recheck: (cookie: string | undefined) => Promise<AuthOutcome>,
    recheckEveryMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.sweep(), recheckEveryMs);
    this.timer.unref();
  }

  add(conn: WebSocketConnection): void {
    this.open.add(conn);
    conn.client.once('close', () => this.open.delete(conn));
  }

  get size(): number {
    return this.open.size;
  }

  apply(msg: Invalidation): void {
    for (const c of this.open) {
      const hit =
        msg.kind === 'session'
          ? c.sid === msg.sid
          : msg.ended && c.user.tenantId === msg.tenantId && (msg.kind === 'tenant' || c.user.userName === msg.userName);
      if (hit) this.end(c, 'session ended');
    }
  }

  async sweep(): Promise<void> {
    for (const c of [...this.open]) {
      try {
        const outcome = await this.recheck(c.cookie);
        if (outcome.kind !== 'user' || outcome.sid !== c.sid) this.end(c, 'session ended');
      } catch {
        // Store or marketplace trouble is not the session's end: try again next round.
      }
    }
  }

  /** Sends a close frame with the documented code to the browser and drops both sides. */
  private end(c: WebSocketConnection, reason: string): void {
    this.open.delete(c);
    c.upstream.unpipe(c.client);
    const text = Buffer.from(reason);
    const frame = Buffer.concat([Buffer.from([0x88, 2 + text.length, WS_CLOSE_SESSION_ENDED >> 8, WS_CLOSE_SESSION_ENDED & 0xff]), text]);
    if (c.client.writable) c.client.end(frame);
    c.upstream.destroy();
    this.log.info('websocket closed: session ended', { tenantId: c.user.tenantId, userName: c.user.userName });
  }

  stop(): void {
    clearInterval(this.timer);
    for (const c of this.open) {
      c.client.destroy();
      c.upstream.destroy();
    }
    this.open.clear();
  }
}
