import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choice, flag, int, isSet, list, readRaw, text, url, type Setting } from '../../src/config/kinds';

/** Reads one setting from `env` as loadConfig does: the value and every problem named. */
function read<T>(s: Setting<T>, env: Record<string, string | undefined>): { value: T; problems: string[] } {
  const problems: string[] = [];
  const problem = (t: string) => void problems.push(t);
  return { value: s.parse(readRaw(s, env, problem), problem), problems };
}

describe('setting kinds', () => {
  test('int: the default when unset, bounds named with the bad text', () => {
    const s = int({ env: 'X_N', default: 5, min: 1, max: 9, meaning: 'a number' });
    expect(read(s, {}).value).toBe(5);
    expect(read(s, { X_N: ' 7 ' }).value).toBe(7);
    expect(read(s, { X_N: '10' }).problems).toEqual(['X_N must be a whole number from 1 to 9 (got "10")']);
    expect(read(s, { X_N: '2.5' }).problems).toHaveLength(1);
    expect(s.shownDefault).toBe('5');
  });

  test('flag and choice: the accepted words, the rest named', () => {
    const f = flag({ env: 'X_F', default: false, meaning: 'a flag' });
    expect(['yes', '1', 'TRUE'].map((v) => read(f, { X_F: v }).value)).toEqual([true, true, true]);
    expect(read(f, { X_F: 'sometimes' }).problems).toEqual(['X_F must be true or false (got "sometimes")']);
    const c = choice({ env: 'X_C', values: ['a', 'b', 'c'], default: 'a', meaning: 'a choice' });
    expect(read(c, { X_C: 'b' }).value).toBe('b');
    expect(read(c, { X_C: 'd' }).problems).toEqual(['X_C must be a, b or c (got "d")']);
  });

  test('required: named with its meaning when unset or blank', () => {
    const s = text({ env: 'X_R', required: true, meaning: 'what it is for' });
    expect(read(s, { X_R: '  ' }).problems).toEqual(['X_R is required: what it is for']);
    expect(read(s, { X_R: ' v ' })).toEqual({ value: 'v', problems: [] });
  });

  test('a secret is never quoted in a problem', () => {
    const s = text({ env: 'X_S', secret: true, minLength: 32, check: () => 'is wrong', meaning: 'a secret' });
    const { problems } = read(s, { X_S: 'hunter2' });
    expect(problems.length).toBe(2);
    expect(problems.join()).not.toContain('hunter2');
    const l = list({ env: 'X_L', secret: true, item: () => 'is wrong', meaning: 'secrets' });
    expect(read(l, { X_L: 'hunter2' }).problems.join()).not.toContain('hunter2');
  });

  test('list: trimmed, empty items dropped; only separators is named', () => {
    const s = list({ env: 'X_L', meaning: 'a list' });
    expect(read(s, { X_L: ' a , b,,' }).value).toEqual(['a', 'b']);
    expect(read(s, {}).value).toEqual([]);
    expect(read(s, { X_L: ' , ' }).problems).toEqual(['X_L holds no value, only separators']);
  });

  test('url: absolute http(s) only', () => {
    const s = url({ env: 'X_U', meaning: 'a URL' });
    expect(read(s, {}).value).toBeUndefined();
    expect(read(s, { X_U: 'https://a.example/x' }).value?.toString()).toBe('https://a.example/x');
    expect(read(s, { X_U: 'ftp://a.example' }).problems).toEqual(['X_U must be an absolute http(s) URL (got "ftp://a.example")']);
  });

  describe('a secret with a _FILE variant', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'koogate-kinds-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const s = text({ env: 'X_K', required: true, secret: true, file: true, meaning: 'a key' });

    test('is read from the file <NAME>_FILE names, trimmed; the variable wins when both are set', () => {
      const file = join(dir, 'k');
      writeFileSync(file, 'from-file\n');
      expect(read(s, { X_K_FILE: file })).toEqual({ value: 'from-file', problems: [] });
      expect(read(s, { X_K: 'from-env', X_K_FILE: file }).value).toBe('from-env');
      expect(isSet(s, { X_K_FILE: file })).toBe(true);
      expect(s.file).toMatch(/X_K/);
    });

    test('an unreadable file and a missing one are named, both variables in the second case', () => {
      expect(read(s, { X_K_FILE: join(dir, 'missing') }).problems.join()).toMatch(/X_K_FILE cannot be read \(ENOENT/);
      expect(read(s, {}).problems).toEqual(['X_K or X_K_FILE is required: a key']);
    });

    test('without `file`, <NAME>_FILE is not read', () => {
      const plain = text({ env: 'X_P', secret: true, meaning: 'a key' });
      expect(read(plain, { X_P_FILE: '/etc/hostname' }).value).toBeUndefined();
      expect(plain.file).toBeUndefined();
    });
  });
});
