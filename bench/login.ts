import { DEMO_APP_ID } from '../src/sandbox/stack';
import type { Sandbox } from '../src/sandbox/marketplace';
import { Client } from '../test/support/browserless-client';

/** Logs a scripted browser in through koogate and the stand-in marketplace; returns its Cookie header for koogate. */
export async function loginCookie(koogateUrl: string, sandbox: Sandbox, userName = 'zhangwei', tenantId = 't-acme'): Promise<string> {
  const client = new Client();
  await client.request(`${koogateUrl}/_koogate/login?returnTo=%2F`);
  const auth = await client.request(`${sandbox.url}/unified-login/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ appId: DEMO_APP_ID, tenantId, userName }).toString(),
  });
  const cb = await client.request(auth.location!.replace(/^http:\/\/[^/]+/, koogateUrl));
  if (cb.status !== 302) throw new Error(`login failed: ${cb.status} ${cb.text.slice(0, 300)}`);
  return client.cookieHeader(koogateUrl);
}
