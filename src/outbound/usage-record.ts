/**
 * One pay-per-use usage record, as the app posts it and as KooGallery's usage push takes it
 * (`usage_records[]` of POST …/isv/usage-data). Times are UTC `yyyyMMdd'T'HHmmss'Z'`; the value is a decimal
 * string, greater than 0, with at most 4 decimals (Double(12,4): at most 8 digits before the point).
 */
export interface UsageRecord {
  instance_id: string;
  record_time: string;
  begin_time: string;
  end_time: string;
  usage_value: string;
  metering_sn: string;
  /** Only for stop-when-used-up packages: the package instance the usage is taken from. */
  relate_pkg_instance?: string;
}

/** Where a record is: waiting to be accepted, accepted, refused by the marketplace, or a duplicate. */
export type UsageState = 'queued' | 'accepted' | 'rejected' | 'duplicate';
export const USAGE_STATES: readonly UsageState[] = ['queued', 'accepted', 'rejected', 'duplicate'];

/** Whether usage may be reported for an instance: known and pay-per-use (as its order details say). */
export type UsageEligibility = 'pay-per-use' | 'not-pay-per-use' | 'charging-mode-unknown' | 'unknown-instance';

/** At most this many records in one POST from the app, and in one push to the marketplace. */
export const MAX_RECORDS = 1000;

export interface UsageProblem {
  /** Position in `usage_records`; absent for a problem of the whole body. */
  index?: number;
  metering_sn?: string;
  field?: string;
  problem: string;
}

export type UsageParse = { ok: true; records: UsageRecord[] } | { ok: false; problems: UsageProblem[] };

const FIELDS = ['instance_id', 'record_time', 'begin_time', 'end_time', 'usage_value', 'metering_sn', 'relate_pkg_instance'] as const;
/** Visible ASCII only: ids travel in JSON to the marketplace and into logs. */
const ID = /^[\x21-\x7e]{1,64}$/;
const TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const VALUE = /^(0|[1-9]\d{0,7})(\.\d{1,4})?$/;
/** Problems reported per request at most; the rest are summed up. */
const MAX_PROBLEMS = 50;

/** Milliseconds of a `yyyyMMdd'T'HHmmss'Z'` time, or NaN when it is not a real one. */
export function parseUsageTime(v: string): number {
  const m = TIME.exec(v);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return new Date(t).getUTCDate() === d ? t : Number.NaN;
}

export function formatUsageTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * Parses what the app posted: `{"usage_records": [ … ]}` with 1 to 1000 records, each exactly the fields
 * above (strings; usage_value may be a JSON number too). Every problem is reported, with its record's
 * position, so the app can fix the whole set at once. `nowMs` is koogate's clock: an interval may not end
 * in the future, nor a record be made there.
 */
export function parseUsageRecords(body: unknown, nowMs: number): UsageParse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('the body must be a JSON object with "usage_records"');
  const keys = Object.keys(body);
  const extra = keys.filter((k) => k !== 'usage_records');
  if (extra.length > 0) return fail(`unknown field ${JSON.stringify(extra[0]!.slice(0, 40))}; the body holds only "usage_records"`);
  const list = (body as { usage_records?: unknown }).usage_records;
  if (!Array.isArray(list)) return fail('"usage_records" must be an array of records');
  if (list.length === 0) return fail('"usage_records" is empty');
  if (list.length > MAX_RECORDS) return fail(`"usage_records" holds ${list.length} records; at most ${MAX_RECORDS} a request`);

  const problems: UsageProblem[] = [];
  const records: UsageRecord[] = [];
  const seenSn = new Map<string, number>();
  const seenSpan = new Map<string, number>();
  let more = 0;
  const report = (p: UsageProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else more++;
  };
  list.forEach((raw, index) => {
    const r = parseOne(raw, nowMs);
    const sn = r.sn;
    for (const p of r.problems) report({ index, ...(sn ? { metering_sn: sn } : {}), ...p });
    if (!r.record) return;
    const rec = r.record;
    const first = seenSn.get(rec.metering_sn);
    if (first !== undefined) return report({ index, metering_sn: rec.metering_sn, field: 'metering_sn', problem: `repeats the metering_sn of record ${first}` });
    seenSn.set(rec.metering_sn, index);
    const span = spanKey(rec);
    const same = seenSpan.get(span);
    if (same !== undefined) return report({ index, metering_sn: rec.metering_sn, field: 'begin_time', problem: `same instance, begin_time and end_time as record ${same}` });
    seenSpan.set(span, index);
    records.push(rec);
  });
  if (more > 0) problems.push({ problem: `${more} more problems not listed` });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, records };
}

/** What makes two records the same period of the same instance (a duplicate, whatever their metering_sn). */
export function spanKey(r: Pick<UsageRecord, 'instance_id' | 'begin_time' | 'end_time'>): string {
  return `${r.instance_id}|${r.begin_time}|${r.end_time}`;
}

function fail(problem: string): UsageParse {
  return { ok: false, problems: [{ problem }] };
}

function parseOne(raw: unknown, nowMs: number): { record?: UsageRecord; sn?: string; problems: Omit<UsageProblem, 'index'>[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { problems: [{ problem: 'a record must be a JSON object' }] };
  const o = raw as Record<string, unknown>;
  const problems: Omit<UsageProblem, 'index'>[] = [];
  for (const k of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(k)) problems.push({ field: k.slice(0, 40), problem: 'unknown field' });
  }
  const id = (field: (typeof FIELDS)[number], optional = false): string => {
    const v = o[field];
    if (v === undefined && optional) return '';
    if (typeof v !== 'string' || !ID.test(v)) {
      problems.push({ field, problem: v === undefined ? 'missing' : 'must be 1 to 64 visible ASCII characters' });
      return '';
    }
    return v;
  };
  const time = (field: 'record_time' | 'begin_time' | 'end_time'): { text: string; ms: number } => {
    const v = o[field];
    const ms = typeof v === 'string' ? parseUsageTime(v) : Number.NaN;
    if (Number.isNaN(ms)) {
      problems.push({ field, problem: v === undefined ? 'missing' : "must be a UTC time yyyyMMdd'T'HHmmss'Z', e.g. 20260101T080000Z" });
      return { text: '', ms };
    }
    return { text: v as string, ms };
  };
  const instance = id('instance_id');
  const sn = id('metering_sn');
  const pkg = id('relate_pkg_instance', true);
  const recordTime = time('record_time');
  const begin = time('begin_time');
  const end = time('end_time');
  if (!Number.isNaN(begin.ms) && !Number.isNaN(end.ms) && begin.ms >= end.ms) problems.push({ field: 'end_time', problem: 'must be after begin_time' });
  if (end.ms > nowMs) problems.push({ field: 'end_time', problem: 'is in the future: report an interval once it has ended' });
  if (recordTime.ms > nowMs) problems.push({ field: 'record_time', problem: 'is in the future' });
  const value = usageValue(o.usage_value);
  if (typeof value !== 'string') problems.push({ field: 'usage_value', problem: value.problem });
  if (problems.length > 0) return { problems, ...(sn ? { sn } : {}) };
  const record: UsageRecord = {
    instance_id: instance,
    record_time: recordTime.text,
    begin_time: begin.text,
    end_time: end.text,
    usage_value: value as string,
    metering_sn: sn,
    ...(pkg ? { relate_pkg_instance: pkg } : {}),
  };
  return { record, sn, problems };
}

function usageValue(v: unknown): string | { problem: string } {
  if (v === undefined) return { problem: 'missing' };
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { problem: 'must be a finite number' };
    text = String(v);
  } else if (typeof v === 'string') text = v;
  else return { problem: 'must be a decimal number or a string holding one' };
  if (!VALUE.test(text)) return { problem: 'must be a plain decimal greater than 0 with at most 4 decimals and 8 digits before the point' };
  if (Number(text) <= 0) return { problem: 'must be greater than 0' };
  return text;
}

/** Hourly records cover at most an hour; anything longer is billed by the day. */
export type UsagePeriod = 'hourly' | 'daily';

export function usagePeriod(r: Pick<UsageRecord, 'begin_time' | 'end_time'>): UsagePeriod {
  return parseUsageTime(r.end_time) - parseUsageTime(r.begin_time) <= 3600_000 ? 'hourly' : 'daily';
}
