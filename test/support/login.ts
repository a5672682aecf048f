import type { Sandbox } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID } from '../../src/sandbox/stack';
import { Client, type Hop } from './browserless-client';

export interface LoginOptions {
  tenantId?: string;
  userName?: string;
  returnTo?: string;
}

/**
 * Logs `client` in at the koogate at `koogateUrl` — its login, the unified login form the person
 * submits, the callback — and stops at the callback's redirect: no proxied request has been made yet.
 * Returns the callback's answer.
 */
export async function loginAtCallback(client: Client, koogateUrl: string, sandbox: Sandbox, opts: LoginOptions = {}): Promise<Hop> {
  await client.request(`${koogateUrl}/_koogate/login?returnTo=${encodeURIComponent(opts.returnTo ?? '/')}`);
  const authorize = await client.request(`${sandbox.url}/unified-login/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ appId: DEMO_APP_ID, tenantId: opts.tenantId ?? 't-acme', userName: opts.userName ?? 'zhangwei' }).toString(),
  });
  if (!authorize.location) throw new Error(`the unified login refused: ${authorize.status} ${authorize.text.slice(0, 200)}`);
  // The callback is registered on one replica's URL; reach it on the one asked for.
  return client.request(authorize.location.replace(/^http:\/\/[^/]+/, koogateUrl));
}

/** A logged-in session's Cookie header for koogate. */
export async function loginCookie(koogateUrl: string, sandbox: Sandbox, opts: LoginOptions = {}): Promise<string> {
  const client = new Client();
  const cb = await loginAtCallback(client, koogateUrl, sandbox, opts);
  if (cb.status !== 302) throw new Error(`login failed: ${cb.status} ${cb.text.slice(0, 300)}`);
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
