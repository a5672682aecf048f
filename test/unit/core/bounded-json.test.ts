import { parseBoundedJson } from '../../../src/core/bounded-json';
import { MAX_JSON_DEPTH, parseKitJson } from '../../../src/kit/verify';
import { KitFailure } from '../../../src/kit/result';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('parseBoundedJson', () => {
  test('parses within the limit; brackets inside strings, escaped quotes included, do not count', () => {
    expect(parseBoundedJson('{"a":{"b":["[[[[[[[[[[[[[[[[[[[["]}}', 3)).toEqual({ ok: true, value: { a: { b: ['[[[[[[[[[[[[[[[[[[[['] } } });
    expect(parseBoundedJson('{"a":"\\"{{{{"}', 1)).toEqual({ ok: true, value: { a: '"{{{{' } });
    expect(parseBoundedJson('{"a":"\\\\"}', 1)).toEqual({ ok: true, value: { a: '\\' } });
  });

  test('exactly the limit passes; one more is refused before parsing', () => {
    expect(parseBoundedJson(nested(16), 16)).toMatchObject({ ok: true });
    expect(parseBoundedJson(nested(17), 16)).toEqual({ ok: false, problem: 'body is nested deeper than 16 levels' });
    // Refused by the scan alone: JSON.parse would not even get to see the unbalanced text.
    expect(parseBoundedJson('{'.repeat(100_000), 16)).toEqual({ ok: false, problem: 'body is nested deeper than 16 levels' });
  });

  test('text that is not JSON', () => {
    for (const text of ['{"a":', '', 'a=1&b=2', '{"a":1,}']) expect(parseBoundedJson(text, 16)).toEqual({ ok: false, problem: 'body is not valid JSON' });
  });
});

describe('parseKitJson', () => {
  test('a kit body: the bounded parse, then a JSON object is required, each refusal a KitFailure (000002)', () => {
    expect(parseKitJson(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`)).toEqual({ a: expect.any(Array) });
    expect(() => parseKitJson(`{"a":${nested(MAX_JSON_DEPTH)}}`)).toThrow(new KitFailure('000002', 'body is nested deeper than 32 levels'));
    expect(() => parseKitJson('{')).toThrow(KitFailure);
    expect(() => parseKitJson('[1]')).toThrow('body must be a JSON object');
  });
});
