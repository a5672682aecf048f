import type { Router } from 'express';
import { KoogateError } from '../core/errors';
import type { UsageIntake } from '../outbound/outbound';
import { parseUsageRecords, type UsageEligibility, type UsageProblem } from '../outbound/usage-record';
import { badRequest, jsonBody, type AdminRoutes } from './api';

export type UsageRoutesDeps = UsageIntake & { now?: () => number };

/** 1000 records of the longest valid fields are about 400 KB of JSON. */
const BODY_LIMIT = '512kb';
const SN = /^[\x21-\x7e]{1,64}$/;

const REFUSAL: Record<Exclude<UsageEligibility, 'pay-per-use'>, string> = {
  'unknown-instance': 'unknown instance: koogate has not seen a newInstance for it',
  'not-pay-per-use': 'the instance is not pay-per-use: its order is charged by period or once',
  'charging-mode-unknown': 'the instance\'s order details have not been read yet (set KOOGATE_MARKETPLACE_AK/_SK); try again shortly',
};

/**
 * The app's usage records, under the admin API:
 *   POST /_koogate/admin/usage              {"usage_records": [ … ]}: validated whole, then each record is
 *                                           queued or named a duplicate; 202 with one result per record
 *   GET  /_koogate/admin/usage/<metering_sn> the record's state (queued, accepted, rejected, duplicate)
 * A request with any invalid record changes nothing and answers 400 with every problem.
 */
export function usageRoutes(d: UsageRoutesDeps): AdminRoutes {
  const now = d.now ?? Date.now;
  return (router: Router, ctx) => {
    router.post('/usage', jsonBody(BODY_LIMIT), async (req, res, next) => {
      try {
        const parsed = parseUsageRecords(req.body, now());
        let problems: UsageProblem[] = parsed.ok ? [] : parsed.problems;
        if (parsed.ok) {
          const ids = [...new Set(parsed.records.map((r) => r.instance_id))];
          const eligible = await d.eligibility(ids);
          parsed.records.forEach((r, index) => {
            const e = eligible.get(r.instance_id) ?? 'unknown-instance';
            if (e !== 'pay-per-use') problems.push({ index, metering_sn: r.metering_sn, field: 'instance_id', problem: REFUSAL[e] });
          });
          problems = problems.slice(0, 50);
        }
        if (!parsed.ok || problems.length > 0) {
          ctx.audit(req, 'usage.refused', 0, { problems: problems.length });
          res.status(400).json({ error: 'bad_request', code: 'KOOGATE_BAD_REQUEST', message: 'usage records refused; nothing was queued', problems });
          return;
        }
        const results = await d.intake(parsed.records);
        const queued = results.filter((r) => r.result === 'queued').length;
        ctx.audit(req, 'usage.queued', queued, { duplicates: results.length - queued });
        res.status(202).json({ queued, duplicates: results.length - queued, records: results });
      } catch (e) {
        next(e);
      }
    });
    router.get('/usage/:sn', async (req, res, next) => {
      try {
        const sn = req.params.sn;
        if (!SN.test(sn)) throw badRequest('metering_sn must be 1 to 64 visible ASCII characters');
        const status = await d.ledger.status(sn);
        if (!status) throw new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { meteringSn: sn });
        res.json({ metering_sn: sn, ...status });
      } catch (e) {
        next(e);
      }
    });
  };
}
