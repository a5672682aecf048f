import { readCookie } from '../../../src/core/cookies';

describe('readCookie', () => {
  test('finds a cookie among others, trims, URL-decodes, and tolerates bad encoding', () => {
    expect(readCookie('a=1; koogate.tx=x%2Ey ; b=2', 'koogate.tx')).toBe('x.y');
    expect(readCookie('koogate.txx=1; xkoogate.tx=2', 'koogate.tx')).toBeUndefined();
    expect(readCookie('koogate.tx=%E0%A4%A', 'koogate.tx')).toBe('%E0%A4%A');
    expect(readCookie(undefined, 'koogate.tx')).toBeUndefined();
    expect(readCookie('novalue; koogate.tx=v=w', 'koogate.tx')).toBe('v=w');
  });
});
