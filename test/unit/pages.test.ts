import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP_STATUS, KoogateError, type ErrorCode } from '../../src/core/errors';
import { createLogger } from '../../src/observability/logger';
import { isPageNavigation, sendError } from '../../src/pages/respond';
import { findViewsDir, templateProblem, Views } from '../../src/pages/views';

/** A request as node:http gives it, and a response that records what was sent. */
function exchange(url: string, headers: Record<string, string>, method = 'GET') {
  const req = { url, method, headers } as unknown as IncomingMessage;
  const sent: { status?: number; headers: Record<string, unknown>; body?: string } = { headers: {} };
  const res = {
    set statusCode(v: number) {
      sent.status = v;
    },
    setHeader: (k: string, v: unknown) => void (sent.headers[k.toLowerCase()] = v),
    end: (b?: string) => void (sent.body = b),
  } as unknown as ServerResponse;
  return { req, res, sent };
}

const nav = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const href = (html: string, id: string) => new RegExp(`id="${id}" href="([^"]*)"`).exec(html)?.[1]?.replaceAll('&amp;', '&');

describe('isPageNavigation: by fetch metadata or Accept, whatever the method', () => {
  test.each([
    ['GET', nav, true],
    ['POST', nav, true],
    ['PUT', { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, true],
    ['POST', { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', accept: 'text/html' }, false],
    ['GET', { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe', accept: 'text/html' }, false],
    ['GET', { 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }, false],
    ['POST', { accept: 'text/html,application/xhtml+xml' }, true],
    ['POST', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }, false],
    ['GET', { accept: 'application/json' }, false],
    ['GET', {}, false],
  ])('%s %j → %s', (method, headers, expected) => {
    expect(isPageNavigation({ method, headers } as unknown as IncomingMessage)).toBe(expected);
  });
});

describe('every error page has a way out', () => {
  const views = new Views(findViewsDir());
  const codes = Object.keys(HTTP_STATUS) as ErrorCode[];

  test.each(codes)('%s: a first action, never the page itself in a loop', (code) => {
    const { req, res, sent } = exchange('/app/page', nav);
    sendError(req, res, views, new KoogateError(code, 'x'), { returnTo: '/app/page', otherAccountUrl: 'https://idp.example/api/v1/logout?redirect_url=x', tenantId: 't-1' });
    expect(sent.status).toBe(HTTP_STATUS[code]);
    const action = href(sent.body!, 'error-action');
    expect(action).toBeDefined();
    if (code === 'KOOGATE_TENANT_UNKNOWN' || code === 'KOOGATE_APP_CREDENTIALS_MISSING') {
      // Not "back to the application": the marketplace session would bring the same answer straight back.
      expect(action).toBe('https://idp.example/api/v1/logout?redirect_url=x');
      expect(sent.body).toContain('id="admin-note"');
      expect(sent.body).toContain('t-1');
    } else expect(sent.body).not.toContain('id="admin-note"');
    if ([401, 400].includes(HTTP_STATUS[code])) expect(action).toBe('/_koogate/login?returnTo=%2Fapp%2Fpage');
  });

  test('a rate limit carries its own Retry-After; an outage 5 s', () => {
    const limited = exchange('/_koogate/login', nav);
    sendError(limited.req, limited.res, views, new KoogateError('KOOGATE_RATE_LIMITED', 'x', { retryAfterSeconds: 42 }));
    expect(limited.sent.headers['retry-after']).toBe('42');
    const down = exchange('/x', { accept: 'application/json' });
    sendError(down.req, down.res, views, new KoogateError('KOOGATE_STORE_UNAVAILABLE', 'x'));
    expect(down.sent.headers['retry-after']).toBe('5');
  });
});

describe('Views: brand, custom templates, safe fallbacks', () => {
  let dir: string;
  const lines: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'koogate-views-unit-'));
    lines.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const log = createLogger('info', (l) => lines.push(l));

  test('the brand name and logo appear on every page, escaped', () => {
    const v = new Views(findViewsDir(), { brand: { name: 'A<b>&"C', logoUrl: 'https://cdn.example/l.png?a=1&b="2"' } });
    for (const name of v.names) {
      const html = v.render(name, { title: 'T' });
      expect(html).toContain('<span id="brand-name">A&lt;b&gt;&amp;&quot;C</span>');
      expect(html).toContain('src="https://cdn.example/l.png?a=1&amp;b=&quot;2&quot;"');
      expect(html).toContain('<title>T · A&lt;b&gt;&amp;&quot;C</title>');
    }
    expect(new Views(findViewsDir()).render('error', { title: 'T' })).not.toContain('id="brand"');
  });

  test('a custom template replaces the built-in one; missing ones fall back; partials and style too', () => {
    writeFileSync(join(dir, 'error.html'), '{{{head}}}<body>{{{brand}}}<h1 class="mine">{{title}}</h1>{{#code}}<i>{{code}}</i>{{/code}}</body>');
    writeFileSync(join(dir, '_style.css'), 'body { color: rebeccapurple }');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const v = new Views(findViewsDir(), { customDir: dir, brand: { name: 'Brand' }, log });
    const html = v.render('error', { title: '<x>', code: 'KOOGATE_X' });
    expect(html).toContain('<h1 class="mine">&lt;x&gt;</h1><i>KOOGATE_X</i>');
    expect(html).toContain('rebeccapurple');
    expect(html).toContain('id="brand-name">Brand<');
    expect(v.render('logout', { title: 'Sign out?' })).toContain('id="logout-everywhere"');
  });

  test('a template that does not parse is refused at start, logged, and the built-in one is used', () => {
    const broken: Record<string, string> = {
      'error.html': '{{#title}}open',
      'logout.html': '{{{script}}}',
      'logged-out.html': '{{/title}}',
      'login-refused.html': '{{ title }}',
    };
    for (const [f, t] of Object.entries(broken)) writeFileSync(join(dir, f), t);
    const v = new Views(findViewsDir(), { customDir: dir, log });
    expect(v.render('error', { title: 'T', actionHref: '/', actionLabel: 'A' })).toContain('id="error-action"');
    expect(v.render('logout', { title: 'T' })).toContain('id="confirm-logout"');
    const refused = lines.map((l) => JSON.parse(l) as Record<string, string>).filter((l) => l.msg === 'custom template refused; the built-in one is used');
    expect(refused.map((l) => l.template).sort()).toEqual(['error', 'logged-out', 'login-refused', 'logout']);
  });

  test('templateProblem names the problem', () => {
    expect(templateProblem('{{{head}}}{{#a}}{{b}}{{/a}}')).toBeUndefined();
    expect(templateProblem('{{#a}}')).toMatch(/never closed/);
    expect(templateProblem('{{/a}}')).toMatch(/closes nothing/);
    expect(templateProblem('{{{x}}}')).toMatch(/unknown raw partial/);
    expect(templateProblem('{{a b}}')).toMatch(/malformed/);
    expect(templateProblem('x }} y')).toMatch(/stray/);
    expect(templateProblem('x'.repeat(300_000))).toMatch(/larger/);
  });
});
