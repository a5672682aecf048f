import { deadlineLevel } from '../../../src/outbound/usage-deadlines';
import { formatUsageTime, parseUsageRecords, parseUsageTime, usagePeriod, type UsageRecord } from '../../../src/outbound/usage-record';

const NOW = Date.UTC(2026, 0, 1, 10, 0, 0);
const rec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  instance_id: 'inst-1',
  record_time: '20260101T090500Z',
  begin_time: '20260101T080000Z',
  end_time: '20260101T090000Z',
  usage_value: '12.5',
  metering_sn: 'sn-1',
  ...over,
});
const parse = (records: unknown) => parseUsageRecords({ usage_records: records }, NOW);
const problemsOf = (body: unknown) => {
  const r = parseUsageRecords(body, NOW);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
};

describe('usage record validation', () => {
  it('takes valid records, a numeric usage_value as its decimal text, and the optional package instance', () => {
    const r = parse([rec(), rec({ metering_sn: 'sn-2', begin_time: '20260101T070000Z', end_time: '20260101T080000Z', usage_value: 0.0001, relate_pkg_instance: 'pkg-1' })]);
    expect(r).toEqual({
      ok: true,
      records: [
        rec() as unknown as UsageRecord,
        { ...(rec() as unknown as UsageRecord), metering_sn: 'sn-2', begin_time: '20260101T070000Z', end_time: '20260101T080000Z', usage_value: '0.0001', relate_pkg_instance: 'pkg-1' },
      ],
    });
  });

  it.each([
    ['zero', '0'],
    ['zero with decimals', '0.0000'],
    ['negative', '-1'],
    ['five decimals', '1.00001'],
    ['nine integer digits', '123456789'],
    ['exponent', '1e3'],
    ['leading zero', '01'],
    ['spaces', ' 1'],
    ['NaN number', Number.NaN],
    ['tiny number (1e-7 as text)', 0.0000001],
    ['boolean', true],
    ['object', { v: 1 }],
  ])('refuses usage_value %s', (_n, v) => {
    expect(problemsOf({ usage_records: [rec({ usage_value: v })] })).toEqual([expect.objectContaining({ index: 0, metering_sn: 'sn-1', field: 'usage_value' })]);
  });

  it.each([
    ['bad format', { begin_time: '2026-01-01T08:00:00Z' }, 'begin_time'],
    ['impossible date', { begin_time: '20260230T080000Z' }, 'begin_time'],
    ['hour 24', { record_time: '20260101T240000Z' }, 'record_time'],
    ['end before begin', { end_time: '20260101T075959Z' }, 'end_time'],
    ['empty interval', { end_time: '20260101T080000Z' }, 'end_time'],
    ['interval ending in the future', { end_time: '20260101T100001Z' }, 'end_time'],
    ['record made in the future', { record_time: '20260101T100500Z' }, 'record_time'],
    ['missing metering_sn', { metering_sn: undefined }, 'metering_sn'],
    ['metering_sn too long', { metering_sn: 'x'.repeat(65) }, 'metering_sn'],
    ['control character in metering_sn', { metering_sn: 'sn\u0000x' }, 'metering_sn'],
    ['newline in instance_id', { instance_id: 'inst\n1' }, 'instance_id'],
    ['non-ASCII instance_id', { instance_id: '实例' }, 'instance_id'],
    ['nested object as instance_id', { instance_id: { $ne: '' } }, 'instance_id'],
    ['array as begin_time', { begin_time: ['20260101T080000Z'] }, 'begin_time'],
    ['unknown field', { product_id: 'p' }, 'product_id'],
  ])('refuses a record with %s', (_n, over, field) => {
    const problems = problemsOf({ usage_records: [rec(over)] });
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.every((p) => p.index === 0)).toBe(true);
  });

  it.each([
    ['null', null],
    ['an array', [rec()]],
    ['a string', 'usage_records'],
    ['no records field', {}],
    ['records not an array', { usage_records: { 0: rec() } }],
    ['no records', { usage_records: [] }],
    ['1001 records', { usage_records: Array.from({ length: 1001 }, (_, i) => rec({ metering_sn: `sn-${i}` })) }],
    ['another top-level field', { usage_records: [rec()], __proto__x: 1 }],
  ])('refuses a body that is %s', (_n, body) => {
    expect(problemsOf(body)).toEqual([expect.objectContaining({ problem: expect.any(String) })]);
  });

  it('names every bad record, and repeats within one request (metering_sn, or instance and period)', () => {
    const problems = problemsOf({
      usage_records: [rec(), rec({ usage_value: '0' }), rec({ begin_time: '20260101T070000Z', end_time: '20260101T080000Z' }), rec({ metering_sn: 'sn-9' }), 'x'],
    });
    expect(problems.map((p) => [p.index, p.field])).toEqual([
      [1, 'usage_value'],
      [2, 'metering_sn'],
      [3, 'begin_time'],
      [4, undefined],
    ]);
  });

  it('caps the problems it lists', () => {
    const problems = problemsOf({ usage_records: Array.from({ length: 200 }, (_, i) => rec({ metering_sn: `sn-${i}`, usage_value: '-1' })) });
    expect(problems).toHaveLength(51);
    expect(problems.at(-1)!.problem).toBe('150 more problems not listed');
  });

  it('parses and formats usage times, and tells hourly from daily records', () => {
    expect(parseUsageTime('20260101T080000Z')).toBe(Date.UTC(2026, 0, 1, 8));
    expect(formatUsageTime(Date.UTC(2026, 0, 1, 8, 0, 0, 500))).toBe('20260101T080000Z');
    expect(usagePeriod({ begin_time: '20260101T080000Z', end_time: '20260101T090000Z' })).toBe('hourly');
    expect(usagePeriod({ begin_time: '20260101T000000Z', end_time: '20260102T000000Z' })).toBe('daily');
  });

  it('puts a waiting record at risk at half its deadline and late past it', () => {
    const d = { hourlyMs: 60 * 60_000, dailyMs: 24 * 3600_000 };
    const hourly = { begin_time: '20260101T080000Z', end_time: '20260101T090000Z' };
    expect(deadlineLevel(hourly, d, Date.UTC(2026, 0, 1, 9, 29))).toBeUndefined();
    expect(deadlineLevel(hourly, d, Date.UTC(2026, 0, 1, 9, 30))).toBe('at_risk');
    expect(deadlineLevel(hourly, d, Date.UTC(2026, 0, 1, 10, 0))).toBe('late');
    const daily = { begin_time: '20260101T000000Z', end_time: '20260102T000000Z' };
    expect(deadlineLevel(daily, d, Date.UTC(2026, 0, 2, 11))).toBeUndefined();
    expect(deadlineLevel(daily, d, Date.UTC(2026, 0, 2, 12))).toBe('at_risk');
    expect(deadlineLevel(daily, d, Date.UTC(2026, 0, 3, 0))).toBe('late');
  });
});
