import { pickLang } from '../../src/pages/messages';

const lang = (al?: string | string[]) => pickLang({ headers: al === undefined ? {} : { 'accept-language': al as string } });

describe('pickLang: Accept-Language with q-values', () => {
  test.each([
    [undefined, 'zh'],
    ['', 'zh'],
    ['en', 'en'],
    ['en-US,en;q=0.9', 'en'],
    ['zh-CN', 'zh'],
    ['zh-TW,zh;q=0.9,en;q=0.8', 'zh'],
    ['en;q=0.1, zh-CN;q=0.9', 'zh'],
    ['zh-CN;q=0.2, en-GB;q=0.8', 'en'],
    ['fr-FR, en;q=0.5', 'en'],
    ['fr-FR, de;q=0.5', 'zh'],
    ['*', 'zh'],
    ['en;q=0', 'zh'],
    ['zh;q=0, en;q=0.1', 'en'],
    ['en;q=abc, zh;q=0.5', 'zh'],
    [';;;,,,==', 'zh'],
    ['x'.repeat(5000), 'zh'],
  ])('%s → %s', (al, expected) => {
    expect(lang(al)).toBe(expected);
  });
});
