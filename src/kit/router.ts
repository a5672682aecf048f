import express, { type Request, type Response, type Router } from 'express';
import type { KeyObject } from 'node:crypto';
import type { z } from 'zod';
import type { OaepVariant } from '../crypto/rsa-oaep';
import type { ChangeOutcome, Directory } from '../directory/directory';
import type { Logger } from '../observability/logger';
import { applicationSyncSchema, applyApplicationSync } from './application-sync';
import { describeIssues } from './fields';
import { KIT_RESULT, KitFailure, kitSuccess, type KitAnswer } from './result';
import { applyTenantSync, tenantSyncSchema } from './tenant-sync';
import type { KitV2Verifier } from './verify';

export interface KitDeps {
  verifier: KitV2Verifier;
  directory: Directory;
  appId: string;
  privateKey: KeyObject;
  oaepVariants: readonly OaepVariant[];
  allowHttpMarketplace: boolean;
  log: Logger;
}

interface KitHandler {
  schema: z.ZodType<unknown>;
  apply(body: unknown): Promise<ChangeOutcome>;
  /** Fields worth a log line; never secrets. */
  describe(body: unknown): Record<string, unknown>;
}

/**
 * KooGallery's kit-sync calls (PROTOCOL.md §3): verify ─► decode ─► apply ─► answer. Failures answer
 * HTTP 200 with a result code, as the marketplace expects; nothing is written unless the call is valid.
 */
export function kitRouter(deps: KitDeps): Router {
  const log = deps.log.child({ component: 'kit' });
  const handlers: Record<string, KitHandler> = {
    tenantSync: {
      schema: tenantSyncSchema(deps.allowHttpMarketplace),
      apply: (b) => applyTenantSync(deps.directory, b as z.infer<ReturnType<typeof tenantSyncSchema>>),
      describe: (b) => pickFields(b, ['instanceId', 'tenantId', 'flag', 'testFlag']),
    },
    applicationSync: {
      schema: applicationSyncSchema,
      apply: (b) =>
        applyApplicationSync(
          {
            dir: deps.directory,
            appId: deps.appId,
            privateKey: deps.privateKey,
            variants: deps.oaepVariants,
            onDecrypted: (variant) => log.info('clientSecret decrypted', { oaepVariant: variant }),
          },
          b as z.infer<typeof applicationSyncSchema>,
        ),
      describe: (b) => pickFields(b, ['instanceId', 'tenantId', 'appId', 'flag', 'testFlag']),
    },
  };

  const router = express.Router();
  router.post('/v2/:iface', express.raw({ type: () => true, limit: '2mb' }), async (req: Request, res: Response) => {
    const iface = String(req.params.iface);
    const answer = await handleV2(iface, req);
    res.status(200).json(answer);
  });

  async function handleV2(iface: string, req: Request): Promise<KitAnswer> {
    const handler = Object.hasOwn(handlers, iface) ? handlers[iface] : undefined;
    try {
      if (!handler) throw new KitFailure(KIT_RESULT.badParameter, `unknown kit interface ${iface}`);
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const { body, form } = await deps.verifier.verify(
        { sign: header(req, 'x-sign'), timestamp: header(req, 'x-timestamp'), nonce: header(req, 'x-nonce') },
        raw,
      );
      const parsed = handler.schema.safeParse(body);
      if (!parsed.success) throw new KitFailure(KIT_RESULT.badParameter, describeIssues(parsed.error));
      const outcome = await handler.apply(parsed.data);
      log.info('kit sync applied', { iface, outcome, signedForm: form, ...handler.describe(parsed.data) });
      return kitSuccess();
    } catch (e) {
      if (e instanceof KitFailure) {
        log.warn('kit sync refused', { iface, resultCode: e.resultCode, reason: e.resultMsg });
        return { resultCode: e.resultCode, resultMsg: e.resultMsg };
      }
      log.error('kit sync failed', { iface, err: e instanceof Error ? e.message : String(e) });
      return { resultCode: KIT_RESULT.internal, resultMsg: 'internal error; nothing was changed, please retry' };
    }
  }

  return router;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function pickFields(b: unknown, keys: string[]): Record<string, unknown> {
  const o = b as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
