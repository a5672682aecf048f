import type { Request } from 'express';
import type session from 'express-session';
import type { SessionAuth } from './session';

/** express-session's callback API as promises: the one set every caller uses. */

export interface StoredSession extends session.SessionData {
  auth?: SessionAuth;
}

export function loadSession(store: session.Store, sid: string): Promise<StoredSession | null> {
  return new Promise((ok, fail) => store.get(sid, (err: unknown, s?: session.SessionData | null) => (err ? fail(err) : ok((s as StoredSession) ?? null))));
}

export function saveSession(store: session.Store, sid: string, s: StoredSession): Promise<void> {
  return new Promise((ok, fail) => store.set(sid, s, (err?: unknown) => (err ? fail(err) : ok())));
}

export function destroySession(store: session.Store, sid: string): Promise<void> {
  return new Promise((ok, fail) => store.destroy(sid, (err?: unknown) => (err ? fail(err) : ok())));
}

/** A new session id for this request (a login), keeping nothing of the old session. */
export function regenerate(req: Request): Promise<void> {
  return new Promise((ok, fail) => req.session.regenerate((e) => (e ? fail(e) : ok())));
}

export function save(req: Request): Promise<void> {
  return new Promise((ok, fail) => req.session.save((e) => (e ? fail(e) : ok())));
}

/** Destroys the request's session, so express-session does not write it back. */
export function destroy(req: Request): Promise<void> {
  return new Promise((ok, fail) => req.session.destroy((e) => (e ? fail(e) : ok())));
}
