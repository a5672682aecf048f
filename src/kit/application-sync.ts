import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { decryptOaep, type OaepVariant } from '../crypto/rsa-oaep';
import type { Directory } from '../directory/directory';
import { flagOf, id, optionalText, testFlag, timeStamp } from './fields';
import type { KitApplied } from './handler';
import { subscriptionChanges } from './tenant-sync';
import { KIT_RESULT, KitFailure } from './result';

export const applicationSyncSchema = z
  .object({
    instanceId: optionalText(64),
    tenantId: id(),
    appId: id(),
    clientId: optionalText(256),
    clientSecret: optionalText(4096),
    flag: flagOf([0, 1, 2] as const),
    testFlag,
    timeStamp,
  })
  .superRefine((b, ctx) => {
    if (b.flag === 0) return;
    if (!b.clientId) ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'is required when adding or modifying' });
    if (!b.clientSecret) ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'is required when adding or modifying' });
    else if (!/^[A-Za-z0-9+/=\s]+$/.test(b.clientSecret)) ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'must be Base64' });
  });

export type ApplicationSync = z.infer<typeof applicationSyncSchema>;

export interface ApplicationSyncContext {
  dir: Directory;
  appId: string;
  privateKey: KeyObject;
  variants: readonly OaepVariant[];
  onDecrypted?: (variant: OaepVariant) => void;
}

export function decryptClientSecret(ctx: ApplicationSyncContext, base64: string): string {
  try {
    const { plaintext, variant } = decryptOaep(ctx.privateKey, Buffer.from(base64, 'base64'), ctx.variants);
    ctx.onDecrypted?.(variant);
    return plaintext.toString('utf8');
  } catch {
    throw new KitFailure(KIT_RESULT.decryptFailed, 'clientSecret could not be decrypted with the merchant private key');
  }
}

export async function applyApplicationSync(ctx: ApplicationSyncContext, b: ApplicationSync): Promise<KitApplied> {
  if (b.appId !== ctx.appId) {
    throw new KitFailure(KIT_RESULT.badParameter, 'appId is not the app this koogate serves');
  }
  const clientSecret = b.flag === 0 ? '' : decryptClientSecret(ctx, b.clientSecret);
  // An empty secret would replace a working credential with one no token endpoint accepts.
  if (b.flag !== 0 && clientSecret.trim() === '') throw new KitFailure(KIT_RESULT.badParameter, 'clientSecret decrypts to an empty secret');
  const outcome = await ctx.dir.applyAppCredential({
    instanceId: b.instanceId,
    tenantId: b.tenantId,
    appId: b.appId,
    clientId: b.clientId,
    clientSecret,
    flag: b.flag,
    testFlag: b.testFlag,
  });
  // Without credentials no session of the tenant can renew its token: end them now rather than at renewal.
  const gone = b.flag === 0 && (outcome === 'deleted' || outcome === 'absent');
  if (gone) return { outcome, changes: [{ kind: 'credentials-removed', tenantId: b.tenantId }] };
  return { outcome, changes: await subscriptionChanges(ctx.dir, b.tenantId, ctx.appId) };
}
