import { parseTarget } from '../../src/http/request-target';
import { publicPathMatcher } from '../../src/http/public-paths';
import { headerSafe } from '../../src/proxy/identity';
import { hostileTargets } from '../support/hostile-targets';

describe('parseTarget', () => {
  test('a plain origin-form path is taken as it is', () => {
    expect(parseTarget('/a/b?x=1&y=%2F')).toEqual({ path: '/a/b', url: '/a/b?x=1&y=%2F', plain: true });
  });

  test.each([
    ['/a/../b', '/b'],
    ['/a/%2e%2e/b', '/b'],
    ['/a\\..\\b', '/b'],
    ['//%09/example.com', '//%09/example.com'],
    ['http://evil.example/x?y', '/x'],
    ['/中文', '/%E4%B8%AD%E6%96%87'],
  ])('%j resolves to %j', (raw, path) => {
    expect(parseTarget(raw)?.path).toBe(path);
  });

  test.each(['*', 'example.com:443', 'http://[/x', 'ftp://x/y', 'javascript:alert(1)', ''])('%j cannot be read: null (a 400)', (raw) => {
    expect(parseTarget(raw)).toBeNull();
  });

  test('never throws, and every path it gives starts with one /', () => {
    for (const t of hostileTargets()) {
      const out = parseTarget(t);
      if (out) expect(out.path.startsWith('/')).toBe(true);
    }
  });

  test.each(['/static/..%2fapp/x', '/static/..%5capp/x', '/static/..;/app/x', '/static/%2e%2e%2fapp', '/static/..%252fapp', '/static/x;jsessionid=1'])('%j is not plain: never public', (raw) => {
    const t = parseTarget(raw)!;
    expect(t.plain).toBe(false);
    expect(publicPathMatcher(['/static/*'])(t)).toBe(false);
  });

  test('a plain path under a public prefix is public, one climbing out is not', () => {
    const isPublic = publicPathMatcher(['/static/*', '/health']);
    expect(isPublic(parseTarget('/static/app.js')!)).toBe(true);
    expect(isPublic(parseTarget('/health')!)).toBe(true);
    expect(isPublic(parseTarget('/static/../app/x')!)).toBe(false);
    expect(isPublic(parseTarget('/static/%2e%2e/app/x')!)).toBe(false);
    expect(isPublic(parseTarget('/static\\..\\app')!)).toBe(false);
  });
});

describe('headerSafe', () => {
  test('visible ASCII except % is kept', () => {
    expect(headerSafe('zhangwei@acme.example')).toBe('zhangwei@acme.example');
  });
  test.each([
    ['张伟', '%E5%BC%A0%E4%BC%9F'],
    ['a b', 'a%20b'],
    ['100%', '100%25'],
    ['a\r\nX-Injected: 1', 'a%0D%0AX-Injected:%201'],
    ['nul\u0000', 'nul%00'],
    ['é', '%C3%A9'],
    ['\ud800', '%EF%BF%BD'],
  ])('%j → %j', (v, out) => {
    expect(headerSafe(v)).toBe(out);
    expect(decodeURIComponent(out)).toBe(Buffer.from(v, 'utf8').toString('utf8'));
  });
});
