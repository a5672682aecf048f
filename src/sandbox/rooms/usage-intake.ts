import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { usageSignatureValid } from '../../outbound/usage-signature';
import type { Faults, SandboxFailure } from './faults';

/**
 * The stand-in's usage intake: POST /api/mkp-openapi-public/global/v1/isv/usage-data with headers `ts`,
 * `nonce` and `signature` (Base64 HMAC-SHA256 of "ts=…&nonce=…&body=…" under the basic access key),
 * answering `{error_code, error_msg}`. A batch is taken whole or not at all:
 *   MKT.0000  accepted
 *   MKT.0100  bad body or a bad record (named in error_msg); nothing is taken
 *   MKT.0101  a record repeats an accepted metering_sn, or an accepted instance + begin_time + end_time
 *   MKT.0150  a record's instance is not a pay-per-use instance of this merchant
 *   MKT.0151  signature missing or wrong, ts outside the window, nonce seen before (HTTP 401)
 *   MKT.0999  forced system error (failNext)
 * These checks are written here apart from koogate's own validation, so the two can disagree in a test.
 */
export const USAGE_ROUTE = '/api/mkp-openapi-public/global/v1/isv/usage-data';
const WINDOW_MS = 5 * 60 * 1000;
const TIME = /^\d{8}T\d{6}Z$/;

export interface AcceptedUsage {
  instance_id: string;
  metering_sn: string;
  begin_time: string;
  end_time: string;
  usage_value: string;
  record_time: string;
}

export interface UsageIntakeStats {
  /** Every request that reached the route. */
  calls: number;
  /** Sizes of the batches accepted, in order. */
  acceptedBatches: number[];
  /** error_code of every refused push, in order. */
  refusals: string[];
}

export class UsageIntakeRoom {
  /** The basic access key pushes are signed with; unset: every push is refused MKT.0151. */
  basicKey: string | undefined;
  /** Instances that take usage (pay-per-use), by instance id. */
  readonly payPerUse = new Set<string>();
  readonly accepted: AcceptedUsage[] = [];
  /** Answers forced on the next calls, one per call, before anything is checked. */
  readonly failNext: SandboxFailure[] = [];
  stats: UsageIntakeStats = { calls: 0, acceptedBatches: [], refusals: [] };
  private readonly seenSn = new Set<string>();
  private readonly seenSpan = new Set<string>();
  private readonly nonces = new Map<string, number>();

  constructor(private readonly faults: Faults) {}

  /** Forgets every record, nonce, failure and count (between tests). */
  reset(): void {
    this.accepted.length = 0;
    this.failNext.length = 0;
    this.payPerUse.clear();
    this.seenSn.clear();
    this.seenSpan.clear();
    this.nonces.clear();
    this.stats = { calls: 0, acceptedBatches: [], refusals: [] };
  }

  router(): Router {
    const r = express.Router();
    // The raw body: the signature is over the bytes as sent.
    r.post(USAGE_ROUTE, express.text({ type: () => true, limit: '4mb' }), (req, res) => this.intake(req, res));
    r.use(USAGE_ROUTE, (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      this.refuse(res, 400, 'MKT.0100', `unreadable body: ${(err as Error).message}`);
    });
    return r;
  }

  private refuse(res: Response, status: number, code: string, msg: string): void {
    this.stats.refusals.push(code);
    res.status(status).json({ error_code: code, error_msg: msg });
  }

  private intake(req: Request, res: Response): void {
    this.stats.calls++;
    const failure = this.failNext.shift();
    if (failure !== undefined) {
      if (typeof failure === 'object') this.stats.refusals.push(String((failure.body as { error_code?: unknown })?.error_code ?? failure.status));
      this.faults.apply(req, res, failure);
      return;
    }
    const body = typeof req.body === 'string' ? req.body : '';
    const header = (n: string) => (typeof req.headers[n] === 'string' ? (req.headers[n] as string) : '');
    const ts = header('ts');
    const nonce = header('nonce');
    const signature = header('signature');
    const now = Date.now();
    for (const [n, at] of this.nonces) if (at < now - WINDOW_MS) this.nonces.delete(n);
    if (!this.basicKey || !ts || !nonce || !signature || !usageSignatureValid(this.basicKey, ts, nonce, body, signature)) {
      return this.refuse(res, 401, 'MKT.0151', 'signature missing or wrong');
    }
    if (!/^\d{13}$/.test(ts) || Math.abs(now - Number(ts)) > WINDOW_MS) return this.refuse(res, 401, 'MKT.0151', 'ts outside the accepted window');
    if (this.nonces.has(nonce)) return this.refuse(res, 401, 'MKT.0151', 'nonce already used');
    this.nonces.set(nonce, now);

    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return this.refuse(res, 400, 'MKT.0100', 'body is not JSON');
    }
    const list = (parsed as { usage_records?: unknown } | null)?.usage_records;
    if (!Array.isArray(list) || list.length === 0 || list.length > 1000) return this.refuse(res, 400, 'MKT.0100', 'usage_records must hold 1 to 1000 records');
    const batch: AcceptedUsage[] = [];
    const sns = new Set<string>();
    const spans = new Set<string>();
    for (const raw of list) {
      const r = (raw ?? {}) as Record<string, unknown>;
      const sn = typeof r.metering_sn === 'string' ? r.metering_sn : '';
      const bad = problemOf(r);
      if (bad) return this.refuse(res, 400, 'MKT.0100', `record ${sn || '?'}: ${bad}`);
      const rec = r as unknown as AcceptedUsage;
      if (!this.payPerUse.has(rec.instance_id)) return this.refuse(res, 401, 'MKT.0150', `record ${sn}: instance ${rec.instance_id} is not a pay-per-use instance of this merchant`);
      const span = `${rec.instance_id}|${rec.begin_time}|${rec.end_time}`;
      if (this.seenSn.has(sn) || sns.has(sn)) return this.refuse(res, 400, 'MKT.0101', `record ${sn}: metering_sn already received`);
      if (this.seenSpan.has(span) || spans.has(span)) return this.refuse(res, 400, 'MKT.0101', `record ${sn}: this instance's period was already reported`);
      sns.add(sn);
      spans.add(span);
      batch.push({ instance_id: rec.instance_id, metering_sn: sn, begin_time: rec.begin_time, end_time: rec.end_time, usage_value: rec.usage_value, record_time: rec.record_time });
    }
    for (const r of batch) {
      this.seenSn.add(r.metering_sn);
      this.seenSpan.add(`${r.instance_id}|${r.begin_time}|${r.end_time}`);
      this.accepted.push(r);
    }
    this.stats.acceptedBatches.push(batch.length);
    res.json({ error_code: 'MKT.0000', error_msg: 'success' });
  }
}

function problemOf(r: Record<string, unknown>): string | undefined {
  for (const f of ['instance_id', 'metering_sn', 'record_time', 'begin_time', 'end_time', 'usage_value']) {
    if (typeof r[f] !== 'string' || r[f] === '' || (r[f] as string).length > 64) return `${f} must be a string of 1 to 64 characters`;
  }
  for (const f of ['record_time', 'begin_time', 'end_time']) if (!TIME.test(r[f] as string)) return `${f} is not yyyyMMdd'T'HHmmss'Z'`;
  if ((r.begin_time as string) >= (r.end_time as string)) return 'end_time must be after begin_time';
  const v = r.usage_value as string;
  if (!/^\d+(\.\d{1,4})?$/.test(v) || Number(v) <= 0) return 'usage_value must be greater than 0 with at most 4 decimals';
  return undefined;
}
