import { isSameOriginPath, marketplaceRedirect, safeReturnTo } from '../../src/pages/return-to';

/** Where a browser at https://app.example.com/_koogate/callback would go after a redirect to `location`. */
function landsOn(location: string): string {
  return new URL(location, 'https://app.example.com/_koogate/callback').origin;
}

describe('safeReturnTo: same-origin paths are kept', () => {
  test.each([
    ['/', '/'],
    ['/me', '/me'],
    ['/me?tab=1', '/me?tab=1'],
    ['/me?tab=1&x=a%20b', '/me?tab=1&x=a%20b'],
    ['/a/b/c?x=1#section-2', '/a/b/c?x=1#section-2'],
    ['/reports#/dashboard?id=7', '/reports#/dashboard?id=7'],
    ['/x#//evil.example', '/x#//evil.example'],
    ['/search?q=https://other.example/', '/search?q=https://other.example/'],
    ['/path/with:colon', '/path/with:colon'],
    ['/@evil.example', '/@evil.example'],
    ['/_koogatex/page', '/_koogatex/page'],
    ['/app/_koogate/login', '/app/_koogate/login'],
    ['/a%2Fb', '/a%2Fb'],
    ['/%E4%B8%AD%E6%96%87', '/%E4%B8%AD%E6%96%87'],
  ])('%s → %s', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
    expect(landsOn(safeReturnTo(input))).toBe('https://app.example.com');
  });

  test('non-ASCII is kept as the same path, percent-encoded', () => {
    expect(safeReturnTo('/中文?名=值')).toBe('/%E4%B8%AD%E6%96%87?%E5%90%8D=%E5%80%BC');
  });

  test('dot segments are resolved within the origin', () => {
    expect(safeReturnTo('/a/b/../c')).toBe('/a/c');
    expect(safeReturnTo('/../../etc')).toBe('/etc');
  });

  test('exactly 2048 characters is still accepted, 2049 is not', () => {
    const ok = `/${'a'.repeat(2047)}`;
    expect(ok).toHaveLength(2048);
    expect(safeReturnTo(ok)).toBe(ok);
    expect(safeReturnTo(`${ok}a`)).toBe('/');
  });
});

describe('safeReturnTo: everything else becomes /', () => {
  const attempts: [string, unknown][] = [
    // Other origins, spelled every way a browser accepts.
    ['scheme-relative', '//evil.example'],
    ['scheme-relative with path', '//evil.example/me'],
    ['triple slash', '///evil.example'],
    ['backslash after slash', '/\\evil.example'],
    ['two backslashes', '\\\\evil.example'],
    ['slash backslash slash', '/\\/evil.example'],
    ['tab inside the slashes', '/\t/evil.example'],
    ['tab after slash', '/\tevil.example'],
    ['newline inside the slashes', '/\n/evil.example'],
    ['carriage return inside the slashes', '/\r/evil.example'],
    ['NUL', '/\u0000/evil.example'],
    ['DEL', '/\u007f/evil.example'],
    ['absolute https', 'https://evil.example'],
    ['absolute http', 'http://evil.example/me'],
    ['https with no slashes', 'https:evil.example'],
    ['http with one slash', 'http:/evil.example'],
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['JavaScript: mixed case', 'JaVaScRiPt:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['vbscript:', 'vbscript:msgbox(1)'],
    // Encoded variants that a second decoding (proxy, app, browser) would turn into another origin.
    ['encoded slashes after slash', '/%2F%2Fevil.example'],
    ['encoded slashes, lowercase', '/%2f%2fevil.example'],
    ['one encoded slash after slash', '/%2Fevil.example'],
    ['encoded backslash', '/%5Cevil.example'],
    ['encoded backslash, lowercase', '/%5cevil.example'],
    ['encoded tab', '/%09/evil.example'],
    ['encoded CR LF (header injection)', '/%0d%0aSet-Cookie:%20x=1'],
    ['encoded NUL', '/%00'],
    ['encoded slashes without leading slash', '%2F%2Fevil.example'],
    ['encoded single slash without leading slash', '%2Fme'],
    ['broken percent-encoding', '/%E0%A4%A'],
    ['lone percent', '/100%'],
    // Not a path at all.
    ['leading space', ' /x'],
    ['leading tab', '\t/x'],
    ['leading newline', '\n/x'],
    ['relative path', 'me'],
    ['dot path', './me'],
    ['dot dot path', '../me'],
    ['query only', '?next=//evil.example'],
    ['hash only', '#x'],
    ['empty string', ''],
    // koogate's own routes (would loop or log out right after login).
    ['koogate login', '/_koogate/login'],
    ['koogate login with returnTo', '/_koogate/login?returnTo=%2Fme'],
    ['koogate callback', '/_koogate/callback?code=abc&tenant=t-acme'],
    ['koogate logout', '/_koogate/logout'],
    ['koogate root', '/_koogate'],
    ['koogate root with slash', '/_koogate/'],
    ['koogate root with query', '/_koogate?x=1'],
    ['koogate via dot segment', '/./_koogate/login'],
    ['koogate via parent segment', '/x/../_koogate/login'],
    ['koogate via encoded parent segment', '/x/%2e%2e/_koogate/login'],
    // Size and type.
    ['very long', `/${'a'.repeat(5000)}`],
    ['huge', `/${'x'.repeat(1_000_000)}`],
    ['undefined', undefined],
    ['null', null],
    ['number', 42],
    ['boolean', true],
    ['array of a good path', ['/me']],
    ['array of two', ['/me', '/you']],
    ['object', { toString: () => '/me' }],
    ['String object', new String('/me')],
  ];

  test.each(attempts)('%s', (_name, value) => {
    expect(safeReturnTo(value)).toBe('/');
  });

  test('every answer, for any input above or mangled from it, is a same-origin path', () => {
    const inputs = attempts.map(([, v]) => v).filter((v): v is string => typeof v === 'string');
    const mangled = inputs.flatMap((v) => [v, `/${v}`, `/x${v}`, encodeURIComponent(v), `/${encodeURIComponent(v)}`, v.toUpperCase()]);
    for (const v of mangled) {
      const out = safeReturnTo(v);
      expect(out.startsWith('/')).toBe(true);
      expect(out.startsWith('//')).toBe(false);
      expect(out).not.toMatch(/[\\\u0000-\u001f\u007f]/);
      expect(landsOn(out)).toBe('https://app.example.com');
      expect(new URL(out, 'https://app.example.com').pathname.startsWith('/_koogate/')).toBe(false);
    }
  });
});

describe('safeReturnTo: checked in the resolved form it is sent in', () => {
  test.each(['/.//evil.example', '/a/..//evil.example', '/%2e//evil.example', '/%2E%2e//evil.example', '/a/b/../..//evil.example', '/./\\evil.example', '/x/..%2f/evil.example'])('%s', (value) => {
    const out = safeReturnTo(value);
    expect(out.startsWith('//')).toBe(false);
    expect(landsOn(out)).toBe('https://app.example.com');
  });
});

describe('isSameOriginPath and marketplaceRedirect', () => {
  test.each([
    ['/x', true],
    ['//x', false],
    ['/\\x', false],
    ['https://x', false],
    ['x', false],
    ['/\tx', false],
  ])('isSameOriginPath(%j) is %s', (v, ok) => expect(isSameOriginPath(v)).toBe(ok));

  test('a marketplace redirect must stay on the identity domain origin', () => {
    const domain = 'https://idp.example/t/1';
    expect(marketplaceRedirect('https://idp.example/t/1/api/v1/logout?redirect_url=x', domain)).toBe('https://idp.example/t/1/api/v1/logout?redirect_url=x');
    expect(marketplaceRedirect('https://evil.example/api/v1/logout', domain)).toBeNull();
    expect(marketplaceRedirect('javascript:alert(1)', domain)).toBeNull();
    expect(marketplaceRedirect('https://u:p@idp.example/x', domain)).toBeNull();
    expect(marketplaceRedirect('https://idp.example/x', 'not a url')).toBeNull();
  });
});
