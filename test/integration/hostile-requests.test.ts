import { api } from '../support/stack';
import { hostileTargets } from '../support/hostile-targets';
import { loginCookie, loginWithCode } from '../support/login';
import { getHead, rawRequest } from '../support/raw-http';
import { startReplicaStack, type ReplicaStack } from '../support/replica';
import { startTestUpstream, type TestUpstream } from '../support/upstream';
import { wsHello } from '../support/ws';

/**
 * koogate as its own process under requests meant to crash it: no request target, upgrade or identity
 * ends the process, and other users' requests keep working.
 */
describe('requests that used to end the process', () => {
  let upstream: TestUpstream;
  let stack: ReplicaStack;
  let url: string;
  let cookie: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    stack = await startReplicaStack(upstream.url, { KOOGATE_PUBLIC_PATHS: '/public/*', KOOGATE_ACCESS_POLICY: 'tenant' });
    url = stack.replica.url;
    cookie = await loginCookie(url, stack.sandbox);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await upstream?.close();
  });

  const stillServing = async () => {
    expect(stack.replica.child.exitCode).toBeNull();
    const res = await fetch(`${url}/api/me`, { headers: { ...api, cookie } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { headers: Record<string, string> }).headers['x-forwarded-user']).toBe('zhangwei');
  };

  test('every hostile request target gets an answer below 500, and the process keeps serving', async () => {
    const targets = hostileTargets();
    expect(targets.length).toBeGreaterThan(5000);
    const statuses = new Map<number, number>();
    // A few connections at a time: the point is every target, not load.
    for (let i = 0; i < targets.length; i += 8) {
      const batch = targets.slice(i, i + 8);
      const answers = await Promise.all(batch.map((t) => rawRequest(url, getHead(url, t, { Accept: 'application/json' }))));
      answers.forEach((a, j) => {
        if (a.status >= 500) throw new Error(`${JSON.stringify(batch[j])} → ${a.status} ${a.body}`);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      });
    }
    // Unreadable targets are refused as such, readable ones need a session.
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(statuses.get(401)).toBeGreaterThan(0);
    await stillServing();
    expect(stack.replica.logs.join('\n')).not.toMatch(/uncaught|unhandled/i);
  }, 300_000);

  test('the targets named in the report: 400 or a session check, never a crash', async () => {
    for (const t of ['//%09/example.com', '//%zz', '//[', 'http://[/x', '*', 'example.com:443']) {
      const a = await rawRequest(url, getHead(url, t, { Accept: 'application/json', Cookie: cookie }));
      expect([400, 401, 200]).toContain(a.status);
    }
    const unreadable = await rawRequest(url, getHead(url, 'http://[/x', { Accept: 'application/json' }));
    expect(unreadable.status).toBe(400);
    expect(JSON.parse(unreadable.body)).toMatchObject({ code: 'KOOGATE_BAD_REQUEST' });
    await stillServing();
  });

  test('an absolute-form target is served as its path on the app, whatever host it names', async () => {
    const a = await rawRequest(url, getHead(url, 'http://evil.example/api/me?x=1', { Accept: 'application/json', Cookie: cookie }));
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ url: '/api/me?x=1' });
  });

  test('hostile targets on websocket upgrades: refused on the socket, the process keeps serving', async () => {
    const targets = hostileTargets().filter((_t, i) => i % 7 === 0);
    for (const t of targets) {
      const head = `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: ${cookie}\r\n\r\n`;
      const a = await rawRequest(url, head);
      expect(a.status === 101 || a.status === 400 || a.status === 401 || a.status === 404).toBe(true);
    }
    await stillServing();
  }, 120_000);

  test('users whose identity holds CR/LF, NUL, lone surrogates or Chinese log in, browse and open websockets', async () => {
    const users = [
      { userName: '张伟二', name: '\ud800 lone', email: 'a\r\nX-Injected: 1@acme.example' },
      { userName: 'nul\u0000user', name: 'x\udfff', email: undefined },
      { userName: 'crlf\r\nSet-Cookie: a=1', name: 'ok', email: 'é@acme.example' },
    ];
    const tenant = stack.sandbox.tenants.find((t) => t.tenantId === 't-acme')!;
    for (const u of users) {
      tenant.users.push({ userName: u.userName, name: u.name, ...(u.email ? { email: u.email } : {}) });
      const login = await loginWithCode(url, stack.sandbox, u.userName);
      expect(login.status).toBe(302);
      const c = login.cookie;
      const res = await fetch(`${url}/api/me`, { headers: { ...api, cookie: c } });
      expect(res.status).toBe(200);
      const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
      expect(seen['x-injected']).toBeUndefined();
      expect(decodeURIComponent(seen['x-forwarded-user']!)).toBe(u.userName);
      expect(decodeURIComponent(seen['x-forwarded-name']!)).toBe(Buffer.from(u.name, 'utf8').toString('utf8'));
      const hello = await wsHello(`${url.replace('http', 'ws')}/ws`, c);
      expect(decodeURIComponent(String(hello))).toBe(u.userName);
    }
    await stillServing();
  });
});

