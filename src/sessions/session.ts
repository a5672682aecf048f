import { RedisStore as ConnectRedisStore } from 'connect-redis';
import session from 'express-session';
import type { RequestHandler } from 'express';
import type { RedisClient } from '../store/redis';
import { StoreUnavailableError } from '../store/store';
import type { MarketplaceUser } from '../core/identity';

/** What a logged-in session holds. Tokens are not here: they live in the grant record (tokens/grant-store.ts). */
export interface SessionAuth {
  user: MarketplaceUser;
  grantId: string;
  loginAt: number;
  /** Last time the idle window was extended (coarse: see SessionService.touch). */
  lastSeen: number;
}

declare module 'express-session' {
  interface SessionData {
    auth?: SessionAuth;
  }
}

export interface SessionOptions {
  secrets: string[];
  cookieName: string;
  secure: boolean;
  maxAgeMs: number;
  redis?: RedisClient;
}

export interface SessionLayer {
  middleware: RequestHandler;
  store: session.Store;
}

export function createSessionLayer(opts: SessionOptions): SessionLayer {
  const store: session.Store = opts.redis
    ? // Touching on every request would write to Redis for every proxied call; the lifetime is absolute.
      new TypedFailures(new ConnectRedisStore({ client: opts.redis, prefix: 'koogate:sess:', disableTouch: true }))
    : // Wrapped, so express-session does not print its plain-text MemoryStore notice: koogate decides
      // (and logs as JSON) whether the memory store may serve.
      new TypedFailures(new session.MemoryStore());
  const middleware = session({
    name: opts.cookieName,
    secret: opts.secrets,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy',
    // koogate never terminates TLS itself: with Secure cookies it stands behind a TLS terminator, whose
    // X-Forwarded-Proto is enough to set them even when KOOGATE_TRUST_PROXY was forgotten (else: a login loop).
    proxy: opts.secure ? true : undefined,
    cookie: { httpOnly: true, sameSite: 'lax', secure: opts.secure, maxAge: opts.maxAgeMs, path: '/' },
  });
  return { middleware, store };
}

const typed = (err: unknown) => (err ? new StoreUnavailableError(err) : undefined);

/**
 * The session store with its failures typed at the boundary, as RedisStore's are: whatever the Redis
 * client threw (connection closed, command timed out, cluster down…) reaches callers as
 * StoreUnavailableError, so nobody needs to recognise a failure by its message.
 */
class TypedFailures extends session.Store {
  constructor(private readonly inner: session.Store) {
    super();
  }
  override get(sid: string, cb: (err: unknown, s?: session.SessionData | null) => void): void {
    this.inner.get(sid, (err, s) => cb(typed(err), s));
  }
  override set(sid: string, s: session.SessionData, cb?: (err?: unknown) => void): void {
    this.inner.set(sid, s, (err) => cb?.(typed(err)));
  }
  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.inner.destroy(sid, (err) => cb?.(typed(err)));
  }
}
