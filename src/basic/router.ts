import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AccessChange } from '../core/access';
import { parseBoundedJson } from '../core/bounded-json';
import type { Directory } from '../directory/directory';
import type { InstanceRecord } from '../directory/types';
import { describeIssues, withoutNulls } from '../kit/fields';
import { ANSWER_DEADLINE_MS, WRITE_DEADLINE_MS, type KitCallApplied } from '../kit/router';
import { realTimer, within, type DeadlineTimer } from '../kit/within';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { activitySchemas, isActivity, type Activity, type ActivityBody } from './activities';
import type { BasicHook } from './hook';
import { newInstanceRecord, refresh, release, setStatus, upgrade } from './lifecycle';
import { BASIC_RESULT, BasicFailure, basicSuccess, type BasicAnswer } from './result';
import { MAX_BASIC_JSON_DEPTH, type BasicQuery, type BasicVerifier } from './verify';

export interface BasicDeps {
  verifier: BasicVerifier;
  directory: Directory;
  /** The app whose credentials link tenants to instances (applicationSync). */
  appId: string;
  /** queryInstance's appInfo.frontEndUrl: KOOGATE_FRONTEND_URL, else KOOGATE_PUBLIC_URL. */
  frontEndUrl: string;
  /** The app's synchronous word on newInstance and changeInstanceCheck (KOOGATE_BASIC_HOOK_URL). */
  hook?: BasicHook;
  log: Logger;
  /** Every answer counts in koogate_kit_calls_total, generation `basic`, interface the activity. */
  metrics?: Metrics;
  /** As for kit calls: the access changes of an applied call reach live sessions before the answer. */
  onAccessChanged(change: AccessChange): Promise<void>;
  /** As for kit calls: the applied call is queued for the webhook before the answer. */
  onApplied?(call: KitCallApplied): Promise<void>;
  now?: () => number;
  /** The answer deadline's timer (tests fire it themselves). */
  timer?: DeadlineTimer;
}

/** Basic bodies are a handful of short strings. */
const BODY_LIMIT = '64kb';

/** What applying one activity did: the answer's extra fields, the event's data, the instances whose access may have changed. */
interface Applied {
  answer: BasicAnswer;
  /** Left out of the webhook when null (queryInstance reads only). */
  event: Record<string, unknown> | null;
  touched: string[];
}

/**
 * KooGallery's basic (instance) interfaces (docs/protocol.md §6) at the production address itself:
 * verify ─► decode ─► (ask the app) ─► apply in one guarded store step ─► end sessions that lost access ─►
 * queue the webhook event ─► answer. Every answer is HTTP 200 JSON with resultCode and resultMsg.
 */
export function basicRouter(deps: BasicDeps): Router {
  const log = deps.log.child({ component: 'basic' });
  const now = deps.now ?? Date.now;
  const timer = deps.timer ?? realTimer;
  const instances = deps.directory.instances;

  const rawBody = express.raw({ type: () => true, limit: BODY_LIMIT });
  const handle = async (req: Request, res: Response) => {
    const outcome = await run(req);
    counted(res, outcome.activity ?? claimedActivity(req.body), outcome.answer);
  };
  // Body-parser failures (too large, bad encoding, aborted) are still basic answers, never an error page.
  const bodyError = (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; message?: string };
    const msg = e.type === 'entity.too.large' ? `body is larger than ${BODY_LIMIT}` : 'body could not be read';
    log.warn('basic call refused', { resultCode: BASIC_RESULT.badParameter, reason: e.message ?? String(err) });
    if (res.headersSent) return void res.end();
    counted(res, undefined, { resultCode: BASIC_RESULT.badParameter, resultMsg: msg });
  };

  /** Answers and counts the call: only the activities' own names become label values, anything else is `unknown`. */
  function counted(res: Response, activity: Activity | undefined, a: BasicAnswer): void {
    deps.metrics?.kitCall(activity ?? 'unknown', 'basic', a.resultCode);
    answer(res, a);
  }

  /** The answer, and the activity once the verified body named one. */
  async function run(req: Request): Promise<{ answer: BasicAnswer; activity?: Activity }> {
    const started = now();
    let activity: Activity | undefined;
    try {
      const body = await deps.verifier.verify(query(req), Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
      const named = body['activity'];
      if (!isActivity(named)) throw new BasicFailure(BASIC_RESULT.badParameter, 'activity is missing or not one of the basic interfaces');
      activity = named;
      const parsed = activitySchemas[activity].safeParse(withoutNulls(body));
      if (!parsed.success) throw new BasicFailure(BASIC_RESULT.badParameter, describeIssues(parsed.error));
      const applied = await apply(activity, parsed.data, started);
      log.info('basic call applied', { activity, resultCode: applied.answer.resultCode, ms: now() - started, ...describe(parsed.data) });
      await announce(applied.touched, started, activity);
      if (applied.event && deps.onApplied) {
        await handOn({ iface: activity, generation: 'v2', body: { activity, ...applied.event }, receivedAt: started }, started);
      }
      return { answer: applied.answer, activity };
    } catch (e) {
      if (e instanceof BasicFailure) {
        log.warn('basic call refused', { activity, resultCode: e.resultCode, reason: e.resultMsg });
        return { answer: { resultCode: e.resultCode, resultMsg: e.resultMsg }, activity };
      }
      log.error('basic call failed', { activity, err: e instanceof Error ? e.message : String(e) });
      return { answer: { resultCode: BASIC_RESULT.internal, resultMsg: 'internal error; nothing was changed, please retry' }, activity };
    }
  }

  function inTime(started: number): void {
    if (now() - started > WRITE_DEADLINE_MS) {
      throw new BasicFailure(BASIC_RESULT.internal, 'the store is too slow to answer in time; nothing was changed, please retry');
    }
  }

  /** Asks the app's hook, when there is one; returns a processing message, or throws its refusal. */
  async function ask(activity: Activity, data: Record<string, unknown>): Promise<string | null> {
    if (!deps.hook) return null;
    const verdict = await deps.hook.ask(activity, data);
    if (verdict.kind === 'accept') return null;
    if (verdict.kind === 'processing') return verdict.resultMsg;
    if (verdict.kind === 'refuse') throw new BasicFailure(verdict.resultCode, verdict.resultMsg);
    throw new BasicFailure(BASIC_RESULT.internal, 'the app could not be asked in time; nothing was changed, please retry');
  }

  async function apply(activity: Activity, data: unknown, started: number): Promise<Applied> {
    switch (activity) {
      case 'newInstance': {
        const b = data as ActivityBody<'newInstance'>;
        // The same order always gets the instance its first call was given; a retry asks the app again.
        const known = await instances.instanceOfOrder(b.orderId, b.orderLineId);
        const instanceId = known ?? b.businessId;
        const processing = await ask(activity, { ...b, instanceId });
        inTime(started);
        const { record } = await instances.claimOrder(b.orderId, b.orderLineId, newInstanceRecord(b, new Date(now()).toISOString()));
        const extra = { instanceId: record.instanceId };
        const answer = processing === null ? basicSuccess(extra) : { resultCode: BASIC_RESULT.processing, resultMsg: processing, ...extra };
        return { answer, event: { ...b, instanceId: record.instanceId, resultCode: answer.resultCode }, touched: [] };
      }
      case 'queryInstance': {
        const b = data as ActivityBody<'queryInstance'>;
        const records = await instances.getMany(b.instanceId);
        const info = records
          .filter((r): r is InstanceRecord => r !== null)
          .map((r) => ({ instanceId: r.instanceId, appInfo: { frontEndUrl: deps.frontEndUrl } }));
        if (info.length === 0) throw new BasicFailure(BASIC_RESULT.noInstance, 'none of these instances exists');
        return { answer: basicSuccess({ info }), event: null, touched: [] };
      }
      case 'refreshInstance':
        return changeOf(data as ActivityBody<'refreshInstance'>, refresh, started);
      case 'updateInstanceStatus':
        return changeOf(data as ActivityBody<'updateInstanceStatus'>, setStatus, started);
      case 'releaseInstance':
        return changeOf(data as ActivityBody<'releaseInstance'>, release, started);
      case 'upgradeInstance':
        return changeOf(data as ActivityBody<'upgradeInstance'>, upgrade, started);
      case 'changeInstanceCheck': {
        const b = data as ActivityBody<'changeInstanceCheck'>;
        const processing = await ask(activity, b);
        const answer = processing === null ? basicSuccess() : { resultCode: BASIC_RESULT.processing, resultMsg: processing };
        return { answer, event: { ...b, resultCode: answer.resultCode }, touched: [] };
      }
    }
  }

  async function changeOf<B extends { instanceId: string }>(
    b: B,
    change: (b: B) => Parameters<typeof instances.update>[1],
    started: number,
  ): Promise<Applied> {
    inTime(started);
    const { written } = await instances.update(b.instanceId, change(b));
    // Touched even when nothing was written: a retry then ends sessions a failed first attempt left alive.
    return { answer: basicSuccess(), event: { ...b, changed: written }, touched: [b.instanceId] };
  }

  /** Ends the sessions of every linked tenant that has no active instance left, within the answer deadline. */
  async function announce(touched: string[], started: number, activity: Activity): Promise<void> {
    for (const instanceId of touched) {
      for (const tenantId of await instances.tenantsOf(instanceId)) {
        const access = await deps.directory.subscriptionOf(tenantId, deps.appId);
        if (access.allowed) continue;
        const change: AccessChange = { kind: 'subscription-inactive', tenantId };
        const pending = deps.onAccessChanged(change);
        const fields = { activity, instanceId, tenantId };
        const done = await within(pending, ANSWER_DEADLINE_MS - (now() - started), timer).catch((e: unknown) => {
          log.error('access change not applied to sessions', { ...fields, err: e instanceof Error ? e.message : String(e) });
          throw new BasicFailure(BASIC_RESULT.internal, 'the change was stored, but live sessions could not all be ended; please retry');
        });
        if (!done) {
          log.warn('access change still being applied after the answer', fields);
          pending.catch((e: unknown) => log.error('access change not applied to sessions', { ...fields, err: e instanceof Error ? e.message : String(e) }));
        }
      }
    }
  }

  async function handOn(call: KitCallApplied, started: number): Promise<void> {
    const pending = deps.onApplied!(call);
    const fields = { activity: call.iface };
    const done = await within(pending, ANSWER_DEADLINE_MS - (now() - started), timer).catch((e: unknown) => {
      log.error('applied basic call not handed on', { ...fields, err: e instanceof Error ? e.message : String(e) });
      throw new BasicFailure(BASIC_RESULT.internal, 'the change was stored, but could not be handed on to the app; please retry');
    });
    if (!done) {
      log.warn('applied basic call still being handed on after the answer', fields);
      pending.catch((e: unknown) => log.error('applied basic call not handed on', { ...fields, err: e instanceof Error ? e.message : String(e) }));
    }
  }

  const router = express.Router({ strict: false });
  router.post('/', rawBody, handle);
  router.use(bodyError);
  return router;
}

/** The answer: HTTP 200, application/json, always resultCode and resultMsg (what the marketplace counts as answered). */
function answer(res: Response, a: BasicAnswer): void {
  const bytes = Buffer.from(JSON.stringify(a), 'utf8');
  res.status(200);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(bytes);
}

/**
 * The activity a refused call's body names, for its metric only: a call refused before its body was
 * verified (bad signature, replay, stale timestamp) still counts under the activity it claims, as a kit
 * call counts under the interface its path names. Only the activities' names pass; anything else is `unknown`.
 */
function claimedActivity(body: unknown): Activity | undefined {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  const parsed = parseBoundedJson(body.toString('utf8'), MAX_BASIC_JSON_DEPTH);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return undefined;
  const named = (parsed.value as Record<string, unknown>)['activity'];
  return isActivity(named) ? named : undefined;
}

/** signature, timestamp and nonce, each given at most once; a repeated one is treated as missing. */
function query(req: Request): BasicQuery {
  const raw = req.originalUrl ?? req.url ?? '';
  const q = raw.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const one = (name: string) => {
    const all = params.getAll(name);
    return all.length === 1 ? all[0] : undefined;
  };
  return { signature: one('signature'), timestamp: one('timestamp'), nonce: one('nonce') };
}

/** Fields worth a log line: ids and states, never anything personal. */
function describe(data: unknown): Record<string, unknown> {
  const d = data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['instanceId', 'orderId', 'orderLineId', 'businessId', 'scene', 'status', 'testFlag']) {
    if (d[k] !== undefined) out[k] = Array.isArray(d[k]) ? (d[k] as unknown[]).length : d[k];
  }
  return out;
}
