import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import session from 'express-session';
import { Sealer } from '../src/crypto/sealed';
import { silentLogger } from '../src/observability/logger';
import { SessionCookie } from '../src/sessions/cookie';
import { LocalBus } from '../src/sessions/invalidation';
import { createSessionLayer, type SessionAuth } from '../src/sessions/session';
import { SessionService } from '../src/sessions/session-service';
import { createRedisClient, RedisStore } from '../src/store/redis';
import { GrantStore } from '../src/tokens/grant-store';

export interface SessionSeed {
  redisUrl: string;
  sessionSecret: string;
  /** KOOGATE_ENCRYPTION_KEYS as koogate reads them (the grants are sealed under the first). */
  encryptionKeys: string[];
  cookieName: string;
  /** A session a real login created: its user is the one every copy carries. */
  loggedInCookie: string;
}

const DAY_MS = 24 * 3600_000;

/**
 * Writes `count` distinct logged-in sessions into Redis with koogate's own code, as the login callback
 * writes them (a sealed grant, the session record, the user and tenant index entries), and returns a
 * Cookie header for each. A real login per session would take minutes for 100,000 of them; these are
 * the same records, for the user of `loggedInCookie` (so the directory lets every one in).
 */
export async function seedSessions(seed: SessionSeed, count: number): Promise<string[]> {
  const redis = createRedisClient(seed.redisUrl, silentLogger);
  await redis.connect();
  try {
    const store = new RedisStore(redis);
    const grants = new GrantStore(store, Sealer.fromSecrets(seed.encryptionKeys), { absoluteMs: 30 * DAY_MS, refreshTokenMs: 30 * DAY_MS });
    const layer = createSessionLayer({ secrets: [seed.sessionSecret], cookieName: seed.cookieName, secure: false, maxAgeMs: 30 * DAY_MS, redis });
    const service = new SessionService(store, layer.store, grants, { idleMs: 8 * 3600_000, absoluteMs: 30 * DAY_MS }, silentLogger, new LocalBus());
    const cookie = new SessionCookie(seed.cookieName, [seed.sessionSecret], { secure: false });
    const realSid = cookie.sid(seed.loggedInCookie);
    const real = realSid ? await get(layer.store, realSid) : null;
    if (!real?.auth) throw new Error('the logged-in cookie names no session');
    const user = real.auth.user;
    const cookies: string[] = [];
    const batch = 200;
    for (let done = 0; done < count; done += batch) {
      await Promise.all(
        Array.from({ length: Math.min(batch, count - done) }, async (_, i) => {
          const grant = await grants.create(user.tenantId, { accessToken: `bench-access-${done + i}`, refreshToken: `bench-refresh-${done + i}`, expiresAt: Date.now() + 2 * 3600_000 });
          const sid = randomBytes(24).toString('base64url'); // express-session's own id length
          // The cookie options the session middleware gives every new session (session.ts).
          const sessionCookie = new SessionCookieOptions({ path: '/', httpOnly: true, sameSite: 'lax', secure: false, maxAge: 30 * DAY_MS });
          const req = { sessionID: sid, session: { cookie: sessionCookie } } as unknown as Request;
          await service.start(req, user, grant);
          await set(layer.store, sid, req.session as session.SessionData);
          cookies.push(cookie.serialize(sid, req.session.cookie.maxAge ?? DAY_MS).split(';')[0]!);
        }),
      );
    }
    return cookies;
  } finally {
    redis.disconnect();
  }
}

/** express-session's Cookie takes its options (its typings say otherwise). */
const SessionCookieOptions = session.Cookie as unknown as new (options: Partial<session.CookieOptions>) => session.Cookie;

type Stored = session.SessionData & { auth?: SessionAuth };

function get(store: session.Store, sid: string): Promise<Stored | null> {
  return new Promise((ok, fail) => store.get(sid, (err: unknown, s?: session.SessionData | null) => (err ? fail(err) : ok((s as Stored) ?? null))));
}
function set(store: session.Store, sid: string, s: session.SessionData): Promise<void> {
  return new Promise((ok, fail) => store.set(sid, s, (err?: unknown) => (err ? fail(err) : ok())));
}
