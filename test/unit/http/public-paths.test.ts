import { publicPathMatcher } from '../../../src/http/public-paths';
import { parseTarget } from '../../../src/http/request-target';

const isPublicWith = (patterns: string[]) => {
  const match = publicPathMatcher(patterns);
  return (raw: string) => {
    const target = parseTarget(raw);
    if (!target) throw new Error(`not a target: ${raw}`);
    return match(target);
  };
};

describe('publicPathMatcher', () => {
  test('an exact entry matches that path only; a /* entry matches what lies under it', () => {
    const isPublic = isPublicWith(['/health', '/static/*']);
    expect(isPublic('/health')).toBe(true);
    expect(isPublic('/health?x=1')).toBe(true);
    expect(isPublic('/health/')).toBe(false);
    expect(isPublic('/healthz')).toBe(false);
    expect(isPublic('/static/app.js')).toBe(true);
    expect(isPublic('/static/')).toBe(true);
    expect(isPublic('/staticx/app.js')).toBe(false);
    expect(isPublic('/app')).toBe(false);
  });

  test('no entries: nothing is public', () => {
    expect(isPublicWith([])('/')).toBe(false);
  });

  test.each(['/static/../app', '/static/%2e%2e/app', '/static\\..\\app'])('%s resolves out of the prefix and is not public', (raw) => {
    expect(isPublicWith(['/static/*'])(raw)).toBe(false);
  });

  test.each(['/static/..%2Fapp', '/static/x;jsessionid=1', '/static/%252e%252e/app', '/static/%5c..%5capp'])('%s could be read another way by a server: not public', (raw) => {
    expect(isPublicWith(['/static/*'])(raw)).toBe(false);
  });
});
