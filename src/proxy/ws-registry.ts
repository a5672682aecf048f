import type { Duplex } from 'node:stream';
import type { MarketplaceUser } from '../core/identity';
import type { Logger } from '../observability/logger';
import type { AuthOutcome } from '../sessions/authenticator';
import type { Invalidation } from '../sessions/invalidation';

import { randomBytes } from 'node:crypto';

/** Close code sent to the browser when the session behind a websocket ends (logout, revocation, expiry). */
export const WS_CLOSE_SESSION_ENDED = 4401;
/** Close code of RFC 6455 §7.4.1 sent to both ends when koogate shuts down: going away. */
export const WS_CLOSE_GOING_AWAY = 1001;

/** An upgraded connection, both ends; `sid`, `cookie` and `user` are set when a session opened it. */
export interface WebSocketConnection {
  sid?: string;
  cookie?: string;
  user?: MarketplaceUser;
  client: Duplex;
  upstream: Duplex;
}

/**
 * Open websockets by session, so that a session's end closes them on whichever replica holds them:
 * at once on an invalidation message, and by a periodic re-check for expiry. Sockets of public paths
 * (no session) are held too, so that shutdown closes every one with 1001.
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
      if (c.sid === undefined || !c.user) continue;
      const hit =
        msg.kind === 'session'
          ? c.sid === msg.sid
          : msg.ended && c.user.tenantId === msg.tenantId && (msg.kind === 'tenant' || c.user.userName === msg.userName);
      if (hit) this.end(c, 'session ended');
    }
  }

  async sweep(): Promise<void> {
    for (const c of [...this.open]) {
      if (c.sid === undefined) continue;
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
    if (c.client.writable) c.client.end(closeFrame(WS_CLOSE_SESSION_ENDED, reason, false));
    c.upstream.destroy();
    this.log.info('websocket closed: session ended', { tenantId: c.user?.tenantId, userName: c.user?.userName });
  }

  /**
   * Shutdown: every open websocket gets a 1001 close frame, the browser's side and the app's (masked,
   * as a client's frames must be), then both connections end. Resolves once both sides are gone, or
   * after `waitMs` when a peer does not close its side.
   */
  async goAway(waitMs: number): Promise<void> {
    clearInterval(this.timer);
    const all = [...this.open];
    this.open.clear();
    const gone = all.map((c) => {
      c.upstream.unpipe(c.client);
      c.client.unpipe(c.upstream);
      if (c.client.writable) c.client.end(closeFrame(WS_CLOSE_GOING_AWAY, 'server shutting down', false));
      if (c.upstream.writable) c.upstream.end(closeFrame(WS_CLOSE_GOING_AWAY, 'server shutting down', true));
      return Promise.all([closed(c.client), closed(c.upstream)]);
    });
    if (all.length) this.log.info('websockets closed: shutting down', { count: all.length });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(gone), new Promise<void>((ok) => (timer = setTimeout(ok, waitMs)))]);
    clearTimeout(timer);
    for (const c of all) {
      c.client.destroy();
      c.upstream.destroy();
    }
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

/** One close frame (RFC 6455 §5.5.1): code and a short reason; masked when sent as the client. */
function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  const key = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), key, payload]);
}

function closed(s: Duplex): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((ok) => s.once('close', () => ok()));
}
