import session from 'express-session';
import type { MarketplaceUser } from '../../../src/core/identity';
import { Sealer } from '../../../src/crypto/sealed';
import { silentLogger } from '../../../src/observability/logger';
import { SessionAuthenticator, type AccessCheck } from '../../../src/sessions/authenticator';
import { SessionCookie } from '../../../src/sessions/cookie';
import { LocalBus } from '../../../src/sessions/invalidation';
import { SessionCache } from '../../../src/sessions/session-cache';
import { loadSession, saveSession } from '../../../src/sessions/session-calls';
import { SessionService } from '../../../src/sessions/session-service';
import { MemoryStore } from '../../../src/store/memory';
import { GrantStore, type Grant } from '../../../src/tokens/grant-store';
import type { Freshness } from '../../../src/tokens/renewal';

const SECRET = 'c'.repeat(40);
const IDLE_MS = 60 * 60_000;
const START = Date.now();
const user: MarketplaceUser = { tenantId: 't-1', userName: 'ann', role: 'user' };

/**
 * The session check of proxied requests, against real collaborators (express-session's memory store,
 * the session service, grants in a memory store); renewal, which would call the marketplace, answers
 * what each test says.
 */
function setup(opts: { access?: AccessCheck; renewal?: (grant: Grant) => Freshness } = {}) {
  // express-session's memory store checks expiry against the real clock: start there.
  let now = START;
  const clock = () => now;
  const kv = new MemoryStore();
  const sessionStore = new session.MemoryStore();
  const grants = new GrantStore(kv, Sealer.fromSecrets([SECRET]), { absoluteMs: 30 * 24 * 3600_000, refreshTokenMs: 30 * 24 * 3600_000, now: clock });
  const service = new SessionService(kv, sessionStore, grants, { idleMs: IDLE_MS, absoluteMs: 30 * 24 * 3600_000, now: clock }, silentLogger, new LocalBus());
  const cookie = new SessionCookie('koogate.sid', [SECRET], { secure: false });
  const renewals: string[] = [];
  const auth = new SessionAuthenticator({
    cookie,
    store: sessionStore,
    sessions: service,
    renewal: {
      fresh: async (grantId) => {
        renewals.push(grantId);
        const loaded = await grants.load(grantId);
        if (!loaded) return { kind: 'ended', reason: 'grant missing' };
        return opts.renewal ? opts.renewal(loaded.grant) : { kind: 'fresh', grant: loaded.grant };
      },
    },
    cache: new SessionCache(1000, 100, clock),
    access: opts.access,
    renewSkewMs: 60_000,
    log: silentLogger,
    now: clock,
  });
  /** A logged-in session as the callback leaves it; returns the Cookie header that carries it. */
  async function login(sid = 'sid-1'): Promise<{ sid: string; header: string; grant: Grant }> {
    const grant = await grants.create(user.tenantId, { accessToken: 'at', refreshToken: 'rt', expiresAt: now + 7200_000 });
    await saveSession(sessionStore, sid, {
      cookie: { originalMaxAge: IDLE_MS, expires: new Date(now + IDLE_MS), httpOnly: true, path: '/' },
      auth: { user, grantId: grant.id, loginAt: now, lastSeen: now },
    } as never);
    const setCookie = cookie.serialize(sid, IDLE_MS, now);
    return { sid, header: setCookie.split(';')[0]!, grant };
  }
  return { auth, login, grants, sessionStore, renewals, advance: (ms: number) => (now += ms) };
}

describe('SessionAuthenticator', () => {
  test('no cookie, or a forged one: anonymous, nothing read', async () => {
    const { auth, renewals } = setup();
    expect(await auth.authenticate(undefined)).toEqual({ kind: 'anonymous' });
    expect(await auth.authenticate('koogate.sid=s%3Asid-1.forged')).toEqual({ kind: 'anonymous' });
    expect(renewals).toEqual([]);
  });

  test('a signed cookie of a session that no longer exists: anonymous, and the cookie is cleared', async () => {
    const { auth, login, sessionStore } = setup();
    const { sid, header } = await login();
    await new Promise<void>((ok) => sessionStore.destroy(sid, () => ok()));
    const outcome = await auth.authenticate(header);
    expect(outcome.kind).toBe('anonymous');
    expect(outcome.kind === 'anonymous' && outcome.clearCookie).toMatch(/^koogate\.sid=;/);
  });

  test('a live session: the user; the next request is answered from the cache', async () => {
    const { auth, login, renewals } = setup();
    const { sid, header } = await login();
    expect(await auth.authenticate(header)).toEqual({ kind: 'user', sid, user, setCookie: undefined });
    expect(await auth.authenticate(header)).toMatchObject({ kind: 'user', sid });
    expect(renewals).toHaveLength(1);
  });

  test('requests of one session that miss the cache together share one check', async () => {
    const { auth, login, renewals } = setup();
    const { sid, header } = await login();
    const other = await login('sid-2');
    const outcomes = await Promise.all([...Array.from({ length: 20 }, () => auth.authenticate(header)), auth.authenticate(other.header)]);
    expect(outcomes.slice(0, 20).every((o) => o.kind === 'user' && o.sid === sid)).toBe(true);
    expect(outcomes[20]).toMatchObject({ kind: 'user', sid: other.sid });
    // One check per session, and none left running to be shared by a later request.
    expect(renewals).toHaveLength(2);
    expect(await auth.authenticate(header)).toMatchObject({ kind: 'user', sid });
    expect(renewals).toHaveLength(2);
  });

  test('a failing check fails every request that waited for it, and is not remembered after', async () => {
    let fail = true;
    const { auth, login, renewals } = setup({
      renewal: (grant) => {
        if (fail) throw new Error('marketplace unavailable');
        return { kind: 'fresh', grant };
      },
    });
    const { header } = await login();
    const failed = await Promise.allSettled(Array.from({ length: 5 }, () => auth.authenticate(header)));
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    expect(renewals).toHaveLength(1);
    fail = false;
    expect(await auth.authenticate(header)).toMatchObject({ kind: 'user' });
    expect(renewals).toHaveLength(2);
  });

  test('idle too long: ended, its grant and record gone, the cookie cleared', async () => {
    const { auth, login, grants, sessionStore, advance } = setup();
    const { sid, header, grant } = await login();
    advance(IDLE_MS + 1);
    const outcome = await auth.authenticate(header);
    expect(outcome).toMatchObject({ kind: 'ended', reason: 'idle timeout', clearCookie: expect.stringMatching(/^koogate\.sid=;/) });
    expect(await grants.load(grant.id)).toBeNull();
    expect(await loadSession(sessionStore, sid)).toBeNull();
  });

  test('a renewal that ends the session (refresh refused) ends it here, as a returned value', async () => {
    const { auth, login } = setup({ renewal: () => ({ kind: 'ended', reason: 'refresh refused' }) });
    const { header } = await login();
    expect(await auth.authenticate(header)).toMatchObject({ kind: 'ended', reason: 'refresh refused' });
  });

  test('a failing renewal (marketplace down, token expired) is an error, not an ended session', async () => {
    const { auth, login } = setup({
      renewal: () => {
        throw new Error('marketplace unavailable');
      },
    });
    const { header } = await login();
    await expect(auth.authenticate(header)).rejects.toThrow('marketplace unavailable');
  });

  test("the directory's word: access withdrawn ends the session; a new role reaches the user", async () => {
    let verdict = { allowed: true, role: 'admin' };
    const { auth, login } = setup({ access: async () => verdict });
    const { header } = await login();
    expect(await auth.authenticate(header)).toMatchObject({ kind: 'user', user: { ...user, role: 'admin' } });
    const second = await login('sid-2');
    verdict = { allowed: false, role: 'admin' };
    expect(await auth.authenticate(second.header)).toMatchObject({ kind: 'ended', reason: 'access withdrawn' });
  });

  test('past a tenth of the idle window the session is extended: a new cookie, the record rewritten', async () => {
    const { auth, login, sessionStore, advance } = setup();
    const { sid, header } = await login();
    advance(IDLE_MS / 10 + 1);
    const outcome = await auth.authenticate(header);
    expect(outcome.kind === 'user' && outcome.setCookie).toMatch(/^koogate\.sid=/);
    expect((await loadSession(sessionStore, sid))!.auth!.lastSeen).toBe(START + IDLE_MS / 10 + 1);
  });
});
