import type { Sandbox } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID } from '../../src/sandbox/stack';
import { Client, type Hop } from './browserless-client';

export interface LoginOptions {
  tenantId?: string;
  userName?: string;
  /** The app page the person opens first (default /me): koogate sends them to its login, and back there after it. */
  path?: string;
  /** Open koogate's login itself, asking to come back to this address, instead of an app page first. */
  returnTo?: string;
  /** Stop at the callback's answer (its redirect not followed): no request has reached the app. */
  stopAtCallback?: boolean;
}

/**
 * The one scripted login: a person opens an app page (or koogate's login), is sent to the unified login,
 * submits its form, and koogate's callback signs them in and sends them back. Returns every hop, the
 * callback's answer last when `stopAtCallback`. A unified login that refuses ends the hops with its answer.
 * The callback is registered on one replica's URL; it is reached on `koogateUrl`, the one asked for.
 */
export async function login(client: Client, koogateUrl: string, sandbox: Sandbox, opts: LoginOptions = {}): Promise<Hop[]> {
  const hops: Hop[] = [];
  if (opts.returnTo !== undefined) {
    hops.push(await client.request(`${koogateUrl}/_koogate/login?returnTo=${encodeURIComponent(opts.returnTo)}`));
  } else {
    hops.push(...(await client.follow(`${koogateUrl}${opts.path ?? '/me'}`)));
    const atLogin = hops[hops.length - 1]!;
    if (!atLogin.url.startsWith(sandbox.url)) throw new Error(`expected to reach the unified login, got ${atLogin.status} ${atLogin.url}`);
  }
  const authorize = await client.request(`${sandbox.url}/unified-login/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ appId: DEMO_APP_ID, tenantId: opts.tenantId ?? 't-acme', userName: opts.userName ?? 'zhangwei' }).toString(),
  });
  hops.push(authorize);
  if (!authorize.location || authorize.status < 300 || authorize.status >= 400) return hops;
  const next = new URL(authorize.location);
  const callback = next.pathname === '/_koogate/callback' ? `${koogateUrl}${next.pathname}${next.search}` : authorize.location;
  hops.push(...(opts.stopAtCallback ? [await client.request(callback)] : await client.follow(callback)));
  return hops;
}

/** A logged-in session's Cookie header for koogate, from a login at koogate's own login page (nothing reaches the app). */
export async function loginCookie(koogateUrl: string, sandbox: Sandbox, opts: Omit<LoginOptions, 'path' | 'stopAtCallback'> = {}): Promise<string> {
  const client = new Client();
  const hops = await login(client, koogateUrl, sandbox, { returnTo: '/', ...opts, stopAtCallback: true });
  const cb = hops[hops.length - 1]!;
  if (cb.status !== 302 || !cb.url.startsWith(`${koogateUrl}/_koogate/callback`)) throw new Error(`login failed: ${cb.status} ${cb.url} ${cb.text.slice(0, 300)}`);
  return client.cookieHeader(koogateUrl);
}

/**
 * A login straight through the callback with a code the marketplace issued for `userName`: no form, so the
 * name can be any string, lone surrogates included. Returns the callback's answer and the session cookie.
 */
export async function loginWithCode(koogateUrl: string, sandbox: Sandbox, userName: string, tenantId = 't-acme'): Promise<{ status: number; text: string; cookie: string }> {
  const start = await fetch(`${koogateUrl}/_koogate/login?returnTo=%2F`, { redirect: 'manual' });
  const tx = start.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const code = sandbox.issueCode(DEMO_APP_ID, tenantId, userName);
  const cb = await fetch(`${koogateUrl}/_koogate/callback?code=${encodeURIComponent(code)}&tenant=${encodeURIComponent(tenantId)}`, { redirect: 'manual', headers: { cookie: tx, accept: 'text/html' } });
  const cookie = cb.headers.getSetCookie().map((c) => c.split(';')[0]!).filter((c) => c.startsWith('koogate.sid=')).join('; ');
  return { status: cb.status, text: await cb.text(), cookie };
}
