/**
 * The kit body's `timeStamp` (docs/protocol.md §3.3): UTC+8 wall-clock time as `yyyyMMddHHmmssSSS`. V2 carries it
 * for information; V1 has no timestamp header, so its freshness and its authToken key rest on this field.
 */
const UTC8_MS = 8 * 3600_000;

export function kitTimeStamp(epochMs: number): string {
  const d = new Date(epochMs + UTC8_MS);
  const p = (n: number, width = 2): string => String(n).padStart(width, '0');
  return (
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`
  );
}

/** Epoch milliseconds of a `yyyyMMddHHmmssSSS` UTC+8 stamp, or null when it is not a real date and time. */
export function parseKitTimeStamp(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  const epoch = Date.UTC(y, mo - 1, d, h, mi, se, ms) - UTC8_MS;
  // Date.UTC rolls "month 13" or "hour 25" over into valid dates; a real stamp formats back to itself.
  return Number.isFinite(epoch) && kitTimeStamp(epoch) === s ? epoch : null;
}
