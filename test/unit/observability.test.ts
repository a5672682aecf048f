import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, redact, redactUrls } from '../../src/observability/logger';
import { Metrics } from '../../src/observability/metrics';
import { RequestTracker, requestContext } from '../../src/observability/requests';

describe('redaction at every depth', () => {
  test('secret-named fields inside nested objects and arrays are blanked', () => {
    const out = redact({ outer: { inner: { clientSecret: 's3cr3t', list: [{ accessToken: 'tok' }, 'plain'] }, ok: 1 } });
    expect(out).toEqual({ outer: { inner: { clientSecret: '[redacted]', list: [{ accessToken: '[redacted]' }, 'plain'] }, ok: 1 } });
  });

  test('credentials inside URLs are cut out, in any string, at any depth, and in messages', () => {
    expect(redactUrls('redis://:hunter2@redis:6379/0')).toBe('redis://[redacted]@redis:6379/0');
    expect(redactUrls('connect to https://user:pa%40ss@app.example.com/x failed')).toBe('connect to https://[redacted]@app.example.com/x failed');
    expect(redactUrls('mail ops@example.com')).toBe('mail ops@example.com');
    const lines: string[] = [];
    const log = createLogger('info', (l) => lines.push(l), { upstream: 'http://admin:pw@isv-app:3000/' });
    log.info('reconnecting to redis://default:pw2@r:6379', { nested: { url: new URL('rediss://u:pw3@r:6380') }, err: new Error('bad redis://:pw4@x') });
    const text = lines.join('');
    for (const pw of ['pw@', 'pw2', 'pw3', 'pw4']) expect(text).not.toContain(pw);
    expect(JSON.parse(text)).toMatchObject({ upstream: 'http://[redacted]@isv-app:3000/', nested: { url: 'rediss://[redacted]@r:6380' } });
  });

  test('a cyclic or very deep value cannot stall or crash the logger', () => {
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 50; i++) at = (at.next = {}) as Record<string, unknown>;
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const lines: string[] = [];
    createLogger('info', (l) => lines.push(l)).info('x', { deep, cyclic });
    expect(lines[0]).toContain('[too deep]');
  });
});

describe('request ids', () => {
  let server: Server;
  let url: string;
  let trusted = false;
  const seen: string[] = [];
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const tracker = new RequestTracker({ metrics: new Metrics({ processMetrics: false }), accessLog: createLogger('info', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)), trusted: () => trusted });
    server = createServer((req, res) => {
      const kind = req.url!.startsWith('/proxied') ? 'proxy' : 'own';
      tracker.begin(req, res, kind);
      seen.push(requestContext(req)!.id);
      res.end(kind === 'proxy' ? requestContext(req)!.id : 'ok');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  test("a trusted proxy's id is kept; an untrusted client's, or a malformed one, is replaced", async () => {
    trusted = true;
    expect((await fetch(url, { headers: { 'x-request-id': 'lb-7f3a.01' } })).headers.get('x-request-id')).toBe('lb-7f3a.01');
    for (const bad of ['has space', 'x'.repeat(129), 'quote"d', '']) {
      expect((await fetch(url, { headers: { 'x-request-id': bad } })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    trusted = false;
    expect((await fetch(url, { headers: { 'x-request-id': 'lb-7f3a.02' } })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('on a proxied request the id is left to the gateway, which sends it with the answer it writes', async () => {
    const res = await fetch(`${url}/proxied/x`);
    expect(res.headers.get('x-request-id')).toBeNull();
    expect(await res.text()).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('each request ends in one access-log line under the id it was given', async () => {
    const before = lines.length;
    const res = await fetch(`${url}/a/b?token=abc`);
    await res.text();
    await new Promise((ok) => setTimeout(ok, 20));
    const mine = lines.slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ msg: 'request', requestId: res.headers.get('x-request-id'), path: '/a/b', status: 200, method: 'GET' });
    expect(seen).toContain(res.headers.get('x-request-id'));
  });
});

describe('a request record that fails', () => {
  test('never reaches the process: the answer stands, the failure is logged once', async () => {
    const errors: Record<string, unknown>[] = [];
    const metrics = new Metrics({ processMetrics: false });
    metrics.proxiedRequest = () => {
      throw new Error('metric broke');
    };
    const tracker = new RequestTracker({ metrics, trusted: () => false, log: createLogger('error', (l) => errors.push(JSON.parse(l) as Record<string, unknown>)) });
    const server = createServer((req, res) => {
      tracker.begin(req, res, 'proxy');
      res.end('ok');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (let i = 0; i < 3; i++) expect(await (await fetch(url)).text()).toBe('ok');
      // The first answers' close listeners have run by now; each failed, and one line says so.
      expect(errors).toEqual([expect.objectContaining({ level: 'error', msg: 'request record failed', err: expect.objectContaining({ message: 'metric broke' }) })]);
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});

describe('metrics', () => {
  test('series carry the koogate_ prefix; the proxied histogram counts by status class', async () => {
    const m = new Metrics({ processMetrics: false });
    m.proxiedRequest(204, 0.003);
    m.proxiedRequest(502, 0.2);
    m.proxiedRequest(99, 0.1);
    const extra = m.counter('rate_limited_total', 'Requests refused by a rate limit.', ['route']);
    extra.inc({ route: 'login' });
    const text = await m.scrape();
    expect(text).toContain('koogate_proxy_request_duration_seconds_count{status_class="2xx"} 1');
    expect(text).toContain('koogate_proxy_request_duration_seconds_count{status_class="5xx"} 1');
    expect(text).toContain('koogate_proxy_request_duration_seconds_count{status_class="1xx"} 1');
    expect(text).toContain('koogate_rate_limited_total{route="login"} 1');
    expect(text).not.toMatch(/^process_/m);
  });
});
