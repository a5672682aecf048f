import type { IncomingHttpHeaders } from 'node:http';
import { parseTarget } from '../../../src/http/request-target';
import { corsAllowed, isOwnPath, returnAfterLogin, routeAnonymous, routeRequest, routeUpgrade, type RoutingRules } from '../../../src/http/routing';
import { DEFAULT_PRODUCE_PATH } from '../../../src/config/schema';

/** The gateway's decisions (src/http/routing.ts) for each request, on request targets as they arrive. */
const rules: RoutingRules = { producePath: '/isv/produce', corsOrigins: ['https://front.example'] };
const route = (raw: string, method = 'GET', headers: IncomingHttpHeaders = {}, r: RoutingRules = rules) => routeRequest(parseTarget(raw), method, headers, r);

describe("koogate's own routes, the production address and the app", () => {
  test.each([
    '/_koogate',
    '/_koogate/',
    '/_koogate/login?returnTo=%2F',
    '/_koogate/callback?code=x',
    '/_koogate/api/users',
    '/_koogate/admin/sessions',
    '/_koogate/no-such-route',
    // Kit calls at the root, V2 and V1.
    '/produceAPI/v2/tenantSync',
    '/produceAPI/tenantSync',
    // The production address (basic calls), with or without its slash, and kit calls under it.
    '/isv/produce',
    '/isv/produce?signature=s&timestamp=1&nonce=n',
    '/isv/produce/',
    '/isv/produce/produceAPI/v2/authSync',
    '/isv/produce/produceAPI/authSync',
  ])('%s is koogate\'s own', (raw) => {
    expect(route(raw)).toBe('own');
    expect(route(raw, 'POST')).toBe('own');
  });

  test.each([
    '/',
    '/me',
    '/_koogatex',
    '/_koogate-login',
    '/x/_koogate/login',
    '/produceAPI',
    '/produceapi/v2/tenantSync',
    '/x/produceAPI/v2/tenantSync',
    '/isv/produce/other',
    '/isv/produce/produceAPI',
    '/isv/producer',
    '/isv',
    // Encoded look-alikes are not koogate's paths: they go to the app, behind the session check.
    '/_koogate%2Flogin',
    '/%5Fkoogate/login',
  ])('%s is for the app, behind the session check', (raw) => {
    expect(route(raw)).toBe('session');
  });

  test('the decision is made on the resolved path: dot segments and backslashes lead into koogate, not past it', () => {
    expect(route('/app/../_koogate/login')).toBe('own');
    expect(route('/app/%2e%2e/_koogate/login')).toBe('own');
    expect(route('/app\\..\\_koogate\\login')).toBe('own');
    expect(route('/_koogate/../me')).toBe('session');
    expect(route('/isv/produce/produceAPI/../x')).toBe('session');
  });

  test('an absolute-form target is routed by its path alone', () => {
    expect(route('http://evil.example/_koogate/login')).toBe('own');
    expect(route('https://evil.example/me')).toBe('session');
  });

  test.each(['example.com:443', '*', 'ftp://x.example/_koogate/login', 'me', ''])('%j is no readable target', (raw) => {
    expect(route(raw)).toBe('bad-target');
  });

  test('the default production address lies under /_koogate/ and keeps its kit calls', () => {
    const d: RoutingRules = { producePath: DEFAULT_PRODUCE_PATH, corsOrigins: [] };
    expect(route(DEFAULT_PRODUCE_PATH, 'POST', {}, d)).toBe('own');
    expect(route(`${DEFAULT_PRODUCE_PATH}/produceAPI/v2/tenantSync`, 'POST', {}, d)).toBe('own');
    expect(route('/isv/produce', 'POST', {}, d)).toBe('session');
    expect(isOwnPath('/isv/produce', DEFAULT_PRODUCE_PATH)).toBe(false);
    expect(isOwnPath('/isv/produce', '/isv/produce')).toBe(true);
  });
});

describe('CORS preflights', () => {
  const asked = { origin: 'https://front.example', 'access-control-request-method': 'PUT' };

  test('an OPTIONS with Access-Control-Request-Method from an allowed origin is answered without a session', () => {
    expect(route('/api/items', 'OPTIONS', asked)).toBe('preflight');
  });

  test('anything short of that goes to the session check like any request', () => {
    expect(route('/api/items', 'OPTIONS', { origin: 'https://front.example' })).toBe('session');
    expect(route('/api/items', 'OPTIONS', { ...asked, origin: 'https://evil.example' })).toBe('session');
    expect(route('/api/items', 'OPTIONS', { 'access-control-request-method': 'PUT' })).toBe('session');
    expect(route('/api/items', 'OPTIONS', { ...asked, origin: 'null' })).toBe('session');
    expect(route('/api/items', 'GET', asked)).toBe('session');
    expect(route('/api/items', 'options', asked)).toBe('session');
  });

  test("a preflight to koogate's own routes is koogate's own", () => {
    expect(route('/_koogate/api/users', 'OPTIONS', asked)).toBe('own');
  });

  test('corsAllowed: exactly a listed origin', () => {
    expect(corsAllowed('https://front.example', rules.corsOrigins)).toBe(true);
    expect(corsAllowed('https://front.example/', rules.corsOrigins)).toBe(false);
    expect(corsAllowed('https://FRONT.example', rules.corsOrigins)).toBe(false);
    expect(corsAllowed('https://front.example.evil', rules.corsOrigins)).toBe(false);
    expect(corsAllowed(undefined, rules.corsOrigins)).toBe(false);
    expect(corsAllowed('', [''])).toBe(false);
  });
});

describe('a request for the app without a live session', () => {
  test('a public path is forwarded without identity, whatever the method or kind of request', () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      expect(routeAnonymous(true, method, true)).toBe('public');
      expect(routeAnonymous(true, method, false)).toBe('public');
    }
  });

  test('a page navigation by GET or HEAD is sent to the login', () => {
    expect(routeAnonymous(false, 'GET', true)).toBe('login');
    expect(routeAnonymous(false, 'HEAD', true)).toBe('login');
  });

  test('a navigation by another method (a form post) gets the answer, not a redirect that would lose the method', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'get', undefined]) expect(routeAnonymous(false, method, true)).toBe('refuse');
  });

  test('an API call is refused (401 JSON), whatever the method', () => {
    for (const method of ['GET', 'HEAD', 'POST']) expect(routeAnonymous(false, method, false)).toBe('refuse');
  });

  describe('where the login brings the user back', () => {
    const host = { host: 'gate.example' };
    test('GET and HEAD: to the address itself, whatever the Referer', () => {
      expect(returnAfterLogin('GET', '/orders?page=2', { ...host, referer: 'http://gate.example/form' })).toBe('/orders?page=2');
      expect(returnAfterLogin('HEAD', '/orders', host)).toBe('/orders');
    });

    test("a form's post: to the page that held the form, when the Referer is on this host", () => {
      expect(returnAfterLogin('POST', '/orders/save', { ...host, referer: 'https://gate.example/orders/edit?id=7#top' })).toBe('/orders/edit?id=7');
    });

    test.each([
      ['on another host', 'https://evil.example/orders/edit'],
      ['on another port of the host', 'https://gate.example:8443/orders/edit'],
      ['on a host that only starts alike', 'https://gate.example.evil/orders/edit'],
      ['naming the host as user info of another', 'https://gate.example@evil.example/x'],
      ['that is no URL', 'not a url'],
      ['that is a relative reference', '/orders/edit'],
      ['that is empty', ''],
    ])('a Referer %s: back to the address posted to', (_name, referer) => {
      expect(returnAfterLogin('POST', '/orders/save', { ...host, referer })).toBe('/orders/save');
    });

    test('no Host, or no Referer: back to the address posted to', () => {
      expect(returnAfterLogin('POST', '/orders/save', { referer: 'https://gate.example/orders/edit' })).toBe('/orders/save');
      expect(returnAfterLogin('POST', '/orders/save', host)).toBe('/orders/save');
    });
  });
});

describe('upgrades (websockets)', () => {
  const ws = new Set(['https://gate.example', 'https://app.example']);
  const up = (raw: string, origin?: string) => routeUpgrade(parseTarget(raw), origin, rules.producePath, ws);

  test('an allowed Origin, or none at all (no browser), goes on to the session check', () => {
    expect(up('/ws', 'https://gate.example')).toBe('session');
    expect(up('/ws', 'https://app.example')).toBe('session');
    expect(up('/ws')).toBe('session');
  });

  test('any other Origin is refused before anything else is looked at (cross-site websocket hijacking)', () => {
    for (const origin of ['https://evil.example', 'null', '', 'https://gate.example/', 'http://gate.example']) expect(up('/ws', origin)).toBe('foreign-origin');
  });

  test("nothing upgrades on koogate's own paths, whatever the Origin", () => {
    for (const raw of ['/_koogate/ws', '/produceAPI/v2/x', '/isv/produce', '/app/../_koogate/login']) {
      expect(up(raw, 'https://gate.example')).toBe('own');
      expect(up(raw, 'https://evil.example')).toBe('own');
    }
  });

  test('an unreadable target is refused first', () => {
    expect(up('*', 'https://evil.example')).toBe('bad-target');
    expect(up('example.com:443')).toBe('bad-target');
  });
});
