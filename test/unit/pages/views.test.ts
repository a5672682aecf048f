import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeHtml, findViewsDir, Views } from '../../../src/pages/views';

describe('Views', () => {
  let dir: string;
  let views: Views;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'koogate-views-'));
    writeFileSync(join(dir, '_head.html'), '<head><style>{{{style}}}</style></head>');
    writeFileSync(join(dir, '_style.css'), 'body{margin:0}');
    writeFileSync(join(dir, 'page.html'), '<html>{{{head}}}<p>{{message}}</p>{{#link}}<a href="{{link}}">go</a>{{/link}}</html>');
    writeFileSync(join(dir, '_partial.html'), 'not a page');
    views = new Views(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('values are escaped; the shared head carries the style sheet', () => {
    const html = views.render('page', { message: '<script>alert("x")</script> & \'q\'' });
    expect(html).toContain('<head><style>body{margin:0}</style></head>');
    expect(html).toContain('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</p>');
  });

  test('a section shows only when its value is set', () => {
    expect(views.render('page', { message: 'm' })).not.toContain('<a ');
    expect(views.render('page', { message: 'm', link: '/x?a=1&b=2' })).toContain('<a href="/x?a=1&amp;b=2">go</a>');
  });

  test('an unknown view, or a partial (leading _), is an error', () => {
    expect(() => views.render('missing', {})).toThrow('no view missing');
    expect(() => views.render('_partial', {})).toThrow();
  });

  test("koogate's own views folder is found from the source tree, with every page it renders", () => {
    const own = new Views(findViewsDir());
    for (const name of ['error', 'login-refused', 'logout', 'logged-out']) expect(own.render(name, {})).toContain('<html');
  });

  test('escapeHtml escapes the five characters HTML gives meaning to', () => {
    expect(escapeHtml(`&<>"'x`)).toBe('&amp;&lt;&gt;&quot;&#39;x');
  });
});
