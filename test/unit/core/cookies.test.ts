import { readCookie } from '../../../src/core/cookies';
import { prng } from '../../support/prng';

describe('readCookie', () => {
  test('finds a cookie among others, trims, URL-decodes, and tolerates bad encoding', () => {
    expect(readCookie('a=1; koogate.tx=x%2Ey ; b=2', 'koogate.tx')).toBe('x.y');
    expect(readCookie('koogate.txx=1; xkoogate.tx=2', 'koogate.tx')).toBeUndefined();
    expect(readCookie('koogate.tx=%E0%A4%A', 'koogate.tx')).toBe('%E0%A4%A');
    expect(readCookie(undefined, 'koogate.tx')).toBeUndefined();
    expect(readCookie('novalue; koogate.tx=v=w', 'koogate.tx')).toBe('v=w');
  });
});

/** The plain reading: split on `;`, trim each name, first match wins, percent-decoded when valid. */
function reference(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }
  }
  return undefined;
}

describe('readCookie against the plain reading', () => {
  test('5,000 seeded headers of names, separators, spaces, encodings and look-alikes read the same', () => {
    const rand = prng(20261201);
    const pieces = ['koogate.sid', 'koogate.si', 'xkoogate.sid', 'koogate.sidx', '=', ';', ' ', '\t', '\u00a0', '%3A', '%', '%E0%A4', 's', '.', 'a=1', '', '=='];
    for (let i = 0; i < 5000; i++) {
      let header = '';
      const n = 1 + Math.floor(rand() * 12);
      for (let k = 0; k < n; k++) header += pieces[Math.floor(rand() * pieces.length)];
      expect([header, readCookie(header, 'koogate.sid')]).toEqual([header, reference(header, 'koogate.sid')]);
    }
  });
});
