import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KoogateError } from '../../../src/core/errors';
import { errorBody, isPageNavigation, sendApiError, sendError, socketAnswer, toKoogateError } from '../../../src/pages/respond';
import { findViewsDir, Views } from '../../../src/pages/views';
import { StoreUnavailableError } from '../../../src/store/store';

const views = new Views(findViewsDir());
const expired = () => new KoogateError('KOOGATE_SESSION_EXPIRED', 'Authentication required.', { reason: 'idle timeout' });

/** Serves every request with `answer` and returns what a client sees of one request. */
async function answerOf(answer: Parameters<typeof createServer>[1], path: string, headers: Record<string, string>, method = 'GET') {
  const server: Server = createServer(answer);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const port = (server.address() as AddressInfo).port;
    return await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', fail);
      req.end();
    });
  } finally {
    server.close();
  }
}

const page = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const fetchCall = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };

describe('isPageNavigation', () => {
  const req = (method: string, headers: Record<string, string>) => ({ method, headers }) as never;
  test.each([
    ['a browser navigation', 'GET', page, true],
    ['an old browser without Sec-Fetch headers asking for HTML', 'GET', { accept: 'text/html,*/*' }, true],
    ['HEAD of a page', 'HEAD', page, true],
    // A form posted by the browser is a navigation too: it gets a page (sign in again), never raw JSON.
    ['a POST form', 'POST', page, true],
    ['fetch()', 'GET', fetchCall, false],
    ['an iframe', 'GET', { ...page, 'sec-fetch-dest': 'iframe' }, false],
    ['XMLHttpRequest marked by a library', 'GET', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }, false],
    ['an API client', 'GET', { accept: 'application/json' }, false],
    ['no Accept at all', 'GET', {}, false],
  ] as const)('%s', (_name, method, headers, expected) => {
    expect(isPageNavigation(req(method, headers))).toBe(expected);
  });
});

describe('errorBody', () => {
  test('code, stable name and the code fixed message in the language; login_url only on a 401 with a return path', () => {
    expect(errorBody(expired(), 'en', '/app?x=1')).toEqual({
      error: 'session_expired',
      code: 'KOOGATE_SESSION_EXPIRED',
      message: expect.any(String),
      login_url: '/_koogate/login?returnTo=%2Fapp%3Fx%3D1',
    });
    expect(errorBody(expired(), 'zh').login_url).toBeUndefined();
    expect(errorBody(expired(), 'zh').message).not.toBe(errorBody(expired(), 'en').message);
    const forbidden = errorBody(new KoogateError('KOOGATE_FORBIDDEN', 'x'), 'en', '/');
    expect(forbidden).not.toHaveProperty('login_url');
  });

  test('the detail never reaches the body; an API bad request names its problem', () => {
    const err = new KoogateError('KOOGATE_BAD_REQUEST', 'Bad.', { problem: 'limit must be a whole number', secret: 's3cr3t' });
    expect(JSON.stringify(errorBody(err, 'en'))).not.toContain('s3cr3t');
    expect(errorBody(err, 'en').message).not.toContain('limit');
    expect(errorBody(err, 'en', undefined, true).message).toBe('limit must be a whole number');
  });
});

describe('sendError', () => {
  test('a navigation gets the error page, with a sign-in link on a 401', async () => {
    const a = await answerOf((req, res) => sendError(req, res, views, expired(), { returnTo: '/app' }), '/app', page);
    expect(a.status).toBe(401);
    expect(a.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(a.headers['cache-control']).toBe('no-store');
    expect(a.body).toContain('KOOGATE_SESSION_EXPIRED');
    expect(a.body).toContain('/_koogate/login?returnTo=%2Fapp');
    expect(a.body).not.toContain('idle timeout');
  });

  test('fetch gets JSON with the extra headers; a 503 says when to retry', async () => {
    const a = await answerOf((req, res) => sendError(req, res, views, expired(), { returnTo: '/api', headers: { Vary: 'Origin' } }), '/api', fetchCall);
    expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(a.headers.vary).toBe('Origin');
    expect(JSON.parse(a.body)).toMatchObject({ code: 'KOOGATE_SESSION_EXPIRED', login_url: '/_koogate/login?returnTo=%2Fapi' });
    const down = await answerOf((req, res) => sendError(req, res, views, new KoogateError('KOOGATE_STORE_UNAVAILABLE', 'x')), '/api', fetchCall);
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
  });

  test("koogate's own paths answer a page unless JSON is asked for; HEAD gets no body", async () => {
    const own = await answerOf((req, res) => sendError(req, res, views, expired()), '/_koogate/callback', { accept: '*/*' });
    expect(own.headers['content-type']).toMatch(/text\/html/);
    const head = await answerOf((req, res) => sendError(req, res, views, expired()), '/x', page, 'HEAD');
    expect(head.body).toBe('');
  });
});

describe('sendApiError', () => {
  test('always JSON, English, no sign-in link', async () => {
    const a = await answerOf((_req, res) => sendApiError(res, new KoogateError('KOOGATE_API_UNAUTHORIZED', 'x')), '/_koogate/api/tenants', page);
    expect(a.status).toBe(401);
    expect(JSON.parse(a.body)).toEqual({ error: 'api_unauthorized', code: 'KOOGATE_API_UNAUTHORIZED', message: expect.any(String) });
  });
});

describe('socketAnswer', () => {
  test('a complete HTTP/1.1 answer: status line, JSON body, exact Content-Length, connection closed', () => {
    const raw = socketAnswer(expired(), '/ws');
    const [head, body] = raw.split('\r\n\r\n') as [string, string];
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(lines).toContain('Connection: close');
    expect(lines).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toMatchObject({ code: 'KOOGATE_SESSION_EXPIRED', login_url: '/_koogate/login?returnTo=%2Fws' });
  });

  test('every status gets its reason phrase and a body (a 502, a 404)', () => {
    expect(socketAnswer(new KoogateError('KOOGATE_UPSTREAM_UNAVAILABLE', 'x'))).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*"code":"KOOGATE_UPSTREAM_UNAVAILABLE"/);
    const notFound = socketAnswer(new KoogateError('KOOGATE_NOT_FOUND', 'x'));
    expect(notFound).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(notFound).toMatch(/Content-Length: [1-9]\d*\r\n/);
  });
});

describe('toKoogateError', () => {
  test('ours pass through; a typed store failure is 503; anything else is an internal error', () => {
    const ours = expired();
    expect(toKoogateError(ours)).toBe(ours);
    expect(toKoogateError(new StoreUnavailableError(new Error('Connection is closed.'))).code).toBe('KOOGATE_STORE_UNAVAILABLE');
    // Message text decides nothing: an untyped error that merely reads like a Redis failure is internal.
    expect(toKoogateError(new Error('Connection is closed.')).code).toBe('KOOGATE_INTERNAL');
    expect(toKoogateError('a string').code).toBe('KOOGATE_INTERNAL');
  });
});
