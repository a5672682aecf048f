import { createLogger } from '../../src/observability/logger';
import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { api, syncedStack } from '../support/stack';
import { startTestUpstream, type TestUpstream } from '../support/upstream';

type Line = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Every answer koogate gives on the proxied path carries one X-Request-Id, whoever wrote the answer: the
 * app (its own id wins), the login bounce, a 401, a CORS preflight, an error page; and the access-log
 * line of that request carries the same id.
 */
describe('request ids on every proxied answer', () => {
  let upstream: TestUpstream;
  let stack: Stack;
  const lines: Line[] = [];

  beforeAll(async () => {
    upstream = await startTestUpstream();
    stack = await syncedStack({
      upstreamUrl: upstream.url,
      log: createLogger('info', (l) => lines.push(JSON.parse(l) as Line)),
      env: { KOOGATE_PUBLIC_PATHS: '/public/*', KOOGATE_CORS_ORIGINS: 'https://spa.example' },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  /** The access-log line of the request with this id (the logger writes it when the answer closes). */
  const accessLine = async (id: string): Promise<Line | undefined> => {
    for (let i = 0; i < 50 && !lines.some((l) => l.msg === 'request' && l.requestId === id); i++) await new Promise((ok) => setImmediate(ok));
    return lines.find((l) => l.msg === 'request' && l.requestId === id);
  };
  const oneId = (headers: Headers): string => {
    const id = headers.get('x-request-id');
    // Headers joins repeated fields with ", ": one id means one field.
    expect(id).not.toContain(',');
    return id!;
  };

  test("the app's answer carries the id the app was given", async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const res = await client.request(`${stack.url}/api/x`, { headers: api });
    expect(res.status).toBe(200);
    const id = oneId(res.headers);
    expect(id).toMatch(UUID);
    expect((JSON.parse(res.text) as { headers: Record<string, string> }).headers['x-request-id']).toBe(id);
    expect(await accessLine(id)).toMatchObject({ kind: 'proxy', status: 200, path: '/api/x' });
  });

  test("an app that sends its own X-Request-Id keeps it, alone", async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const res = await client.request(`${stack.url}/own-id`, { headers: api });
    expect(res.status).toBe(200);
    expect(oneId(res.headers)).toBe('app-chosen-id');
  });

  test('the login bounce, the 401 and the preflight carry an id of their own, logged with their status', async () => {
    // A page navigation (the client's default headers), no redirect followed.
    const bounce = await new Client().request(`${stack.url}/page`);
    expect(bounce.status).toBe(302);
    expect(await accessLine(oneId(bounce.headers))).toMatchObject({ status: 302, path: '/page' });

    const unauthorised = await fetch(`${stack.url}/api/x`, { headers: api });
    expect(unauthorised.status).toBe(401);
    expect(await accessLine(oneId(unauthorised.headers))).toMatchObject({ status: 401 });

    const preflight = await fetch(`${stack.url}/api/x`, { method: 'OPTIONS', headers: { origin: 'https://spa.example', 'access-control-request-method': 'PUT' } });
    expect(preflight.status).toBe(204);
    expect(await accessLine(oneId(preflight.headers))).toMatchObject({ status: 204, method: 'OPTIONS' });
  });

  test('a public path answered by the app for a stale cookie carries the cleared cookie and one id', async () => {
    const res = await fetch(`${stack.url}/public/a`, { headers: { ...api, cookie: 'koogate.sid=s%3Agone.forged' } });
    expect(res.status).toBe(200);
    const id = oneId(res.headers);
    expect(id).toMatch(UUID);
    expect((JSON.parse(await res.text()) as { headers: Record<string, string> }).headers['x-request-id']).toBe(id);
  });

  test('an app that drops the connection gives a 502 page showing the id its log lines carry', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const res = await client.request(`${stack.url}/reset`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(502);
    const id = oneId(res.headers);
    expect(id).toMatch(UUID);
    expect(res.text).toContain(id);
    await accessLine(id);
    expect(lines.filter((l) => l.requestId === id).map((l) => l.msg)).toEqual(expect.arrayContaining(['upstream failed', 'request']));
  });
});
