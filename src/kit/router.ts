import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { KeyObject } from 'node:crypto';
import type { OaepVariant } from '../crypto/rsa-oaep';
import type { AccessChange } from '../core/access';
import type { Directory } from '../directory/directory';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { applicationSyncSchema, applyApplicationSync } from './application-sync';
import { applyAuthSync, authSyncSchema } from './auth-sync';
import { describeIssues, withoutNulls } from './fields';
import { handler, type KitApplied, type KitHandler } from './handler';
import { allOrgSyncSchema, applyAllOrgSync, applySingleOrgSync, singleOrgSyncSchema } from './org-sync';
import { KIT_RESULT, KitFailure, kitSuccess, type KitAnswer } from './result';
import { applyTenantSync, tenantSyncSchema } from './tenant-sync';
import type { KitV1Verifier, KitV2Verifier } from './verify';
import { realTimer, within, type DeadlineTimer } from './within';

export interface KitDeps {
  verifier: KitV2Verifier;
  v1Verifier: KitV1Verifier;
  directory: Directory;
  appId: string;
  privateKey: KeyObject;
  oaepVariants: readonly OaepVariant[];
  allowHttpMarketplace: boolean;
  log: Logger;
  metrics?: Metrics;
  /**
   * Called after a call's changes are stored, once per change, so live sessions follow the directory.
   * A failure answers 000500: retrying the call is safe (it is idempotent) and reports the change again.
   */
  onAccessChanged(change: AccessChange): Promise<void>;
  /**
   * Called once a call is applied and its access changes are handed on, before the success answer (the
   * webhook queues it for the app). A failure answers 000500 as for onAccessChanged: the marketplace's
   * retry changes nothing in the directory and hands the call on again. Past the answer deadline the
   * answer does not wait for it.
   */
  onApplied?(call: KitCallApplied): Promise<void>;
  now?: () => number;
  /** The answer deadline's timer (tests fire it themselves). */
  timer?: DeadlineTimer;
}

/** A kit call koogate applied, as onApplied receives it. */
export interface KitCallApplied {
  iface: string;
  generation: 'v1' | 'v2';
  /** The body as its interface's schema validated it (clientSecret still encrypted, as received). */
  body: unknown;
  /** When the call arrived, ms since the epoch. */
  receivedAt: number;
}

/**
 * The protocol wants an answer within 5 s (§3.2). Nothing is written once WRITE_DEADLINE_MS have gone by
 * (the store's own command timeout bounds the write); the answer does not wait for session ending past
 * ANSWER_DEADLINE_MS, which then finishes after it.
 */
export const WRITE_DEADLINE_MS = 1500;
export const ANSWER_DEADLINE_MS = 4500;

/** Kit bodies: 500 users with every optional field, as JSON strings in V1, fit well within this. */
const BODY_LIMIT = '2mb';

type Generation = 'v1' | 'v2';

/**
 * KooGallery's kit-sync calls (docs/protocol.md §3): verify ─► decode ─► apply ─► answer, for V2 at
 * /produceAPI/v2/{name} and V1 at /produceAPI/{name}. Failures answer HTTP 200 with a result code, as the
 * marketplace expects; nothing is written unless the call is valid. Every V1 answer carries Body-Sign.
 */
export function kitRouter(deps: KitDeps): Router {
  const log = deps.log.child({ component: 'kit' });
  const now = deps.now ?? Date.now;
  const timer = deps.timer ?? realTimer;
  const dir = deps.directory;
  const handlers: Record<string, KitHandler> = {
    tenantSync: handler({
      schema: tenantSyncSchema(deps.allowHttpMarketplace),
      apply: (b) => applyTenantSync(dir, b, deps.appId),
      describe: (b) => ({ instanceId: b.instanceId, tenantId: b.tenantId, flag: b.flag, testFlag: b.testFlag }),
    }),
    applicationSync: handler({
      schema: applicationSyncSchema,
      apply: (b) =>
        applyApplicationSync(
          {
            dir,
            appId: deps.appId,
            privateKey: deps.privateKey,
            variants: deps.oaepVariants,
            onDecrypted: (variant) => log.info('clientSecret decrypted', { oaepVariant: variant }),
          },
          b,
        ),
      describe: (b) => ({ instanceId: b.instanceId, tenantId: b.tenantId, appId: b.appId, flag: b.flag, testFlag: b.testFlag }),
    }),
    authSync: handler({
      schema: authSyncSchema,
      apply: (b) => applyAuthSync(dir, deps.appId, b),
      describe: (b) => ({ instanceId: b.instanceId, tenantId: b.tenantId, appId: b.appId, flag: b.flag, testFlag: b.testFlag, users: b.userList.length }),
    }),
    singleOrgSync: handler({
      schema: singleOrgSyncSchema,
      apply: (b) => applySingleOrgSync(dir, b),
      describe: (b) => ({ instanceId: b.instanceId, tenantId: b.tenantId, orgCode: b.orgCode, flag: b.flag, testFlag: b.testFlag }),
    }),
    allOrgSync: handler({
      schema: allOrgSyncSchema,
      apply: (b) => applyAllOrgSync(dir, b),
      describe: (b) => ({ instanceId: b.instanceId, tenantId: b.tenantId, testFlag: b.testFlag, departments: b.departments.length }),
    }),
  };

  const router = express.Router();
  const rawBody = express.raw({ type: () => true, limit: BODY_LIMIT });

  router.post('/v2/:iface', rawBody, async (req: Request, res: Response) => {
    answer(res, 'v2', await handle('v2', String(req.params.iface), req), String(req.params.iface));
  });
  router.post('/:iface', rawBody, async (req: Request, res: Response) => {
    answer(res, 'v1', await handle('v1', String(req.params.iface), req), String(req.params.iface));
  });
  // Body-parser failures (too large, bad encoding, aborted) are still kit answers, never an error page.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const generation: Generation = req.path.startsWith('/v2/') ? 'v2' : 'v1';
    const e = err as { type?: string; message?: string };
    const msg = e.type === 'entity.too.large' ? `body is larger than ${BODY_LIMIT}` : 'body could not be read';
    log.warn('kit sync refused', { generation, path: req.path, resultCode: KIT_RESULT.badParameter, reason: e.message ?? String(err) });
    if (res.headersSent) return void res.end();
    answer(res, generation, { resultCode: KIT_RESULT.badParameter, resultMsg: msg }, req.path.split('/').pop() ?? '');
  });

  function answer(res: Response, generation: Generation, a: KitAnswer, iface: string): void {
    // Only known names become label values: a path is the sender's to choose.
    deps.metrics?.kitCall(Object.hasOwn(handlers, iface) ? iface : 'unknown', generation, a.resultCode);
    const bytes = Buffer.from(JSON.stringify(a), 'utf8');
    res.status(200);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    if (generation === 'v1') res.setHeader('Body-Sign', deps.v1Verifier.bodySign(bytes));
    res.end(bytes);
  }

  async function verify(generation: Generation, req: Request): Promise<Record<string, unknown>> {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    if (generation === 'v2') {
      const h = { sign: header(req, 'x-sign'), timestamp: header(req, 'x-timestamp'), nonce: header(req, 'x-nonce') };
      return (await deps.verifier.verify(h, raw)).body;
    }
    return (await deps.v1Verifier.verify({ authToken: header(req, 'authtoken'), contentType: header(req, 'content-type'), rawBody: raw })).body;
  }

  async function handle(generation: Generation, iface: string, req: Request): Promise<KitAnswer> {
    const started = now();
    const h = Object.hasOwn(handlers, iface) ? handlers[iface] : undefined;
    try {
      // Named in the log, never in the answer: answers echo no request input.
      if (!h) throw new KitFailure(KIT_RESULT.badParameter, 'unknown kit interface');
      const body = await verify(generation, req);
      const parsed = h.schema.safeParse(withoutNulls(body));
      if (!parsed.success) throw new KitFailure(KIT_RESULT.badParameter, describeIssues(parsed.error));
      if (now() - started > WRITE_DEADLINE_MS) {
        throw new KitFailure(KIT_RESULT.internal, 'the store is too slow to answer in time; nothing was changed, please retry');
      }
      const applied = await h.apply(parsed.data);
      log.info('kit sync applied', { iface, generation, outcome: applied.outcome, ms: now() - started, ...h.describe(parsed.data) });
      await announce(applied, started, iface);
      await handOn({ iface, generation, body: parsed.data, receivedAt: started }, started);
      return kitSuccess();
    } catch (e) {
      if (e instanceof KitFailure) {
        log.warn('kit sync refused', { iface, generation, resultCode: e.resultCode, reason: e.resultMsg });
        return { resultCode: e.resultCode, resultMsg: e.resultMsg };
      }
      log.error('kit sync failed', { iface, generation, err: e instanceof Error ? e.message : String(e) });
      return { resultCode: KIT_RESULT.internal, resultMsg: 'internal error; nothing was changed, please retry' };
    }
  }

  /** Hands each access change to the session layer, within what is left of the answer deadline. */
  async function announce(applied: KitApplied, started: number, iface: string): Promise<void> {
    for (const change of applied.changes) {
      const pending = deps.onAccessChanged(change);
      const done = await within(pending, ANSWER_DEADLINE_MS - (now() - started), timer).catch((e: unknown) => {
        log.error('access change not applied to sessions', { iface, kind: change.kind, tenantId: change.tenantId, err: e instanceof Error ? e.message : String(e) });
        throw new KitFailure(KIT_RESULT.internal, 'the change was stored, but live sessions could not all be ended; please retry');
      });
      if (!done) {
        log.warn('access change still being applied after the answer', { iface, kind: change.kind, tenantId: change.tenantId });
        pending.catch((e: unknown) => log.error('access change not applied to sessions', { iface, kind: change.kind, tenantId: change.tenantId, err: e instanceof Error ? e.message : String(e) }));
      }
    }
  }

  /** Hands the applied call to onApplied, within what is left of the answer deadline. */
  async function handOn(call: KitCallApplied, started: number): Promise<void> {
    if (!deps.onApplied) return;
    const pending = deps.onApplied(call);
    const fields = { iface: call.iface, generation: call.generation };
    const done = await within(pending, ANSWER_DEADLINE_MS - (now() - started), timer).catch((e: unknown) => {
      log.error('applied kit call not handed on', { ...fields, err: e instanceof Error ? e.message : String(e) });
      throw new KitFailure(KIT_RESULT.internal, 'the change was stored, but could not be handed on to the app; please retry');
    });
    if (!done) {
      log.warn('applied kit call still being handed on after the answer', fields);
      pending.catch((e: unknown) => log.error('applied kit call not handed on', { ...fields, err: e instanceof Error ? e.message : String(e) }));
    }
  }

  return router;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
