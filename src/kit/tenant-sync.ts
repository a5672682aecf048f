import { z } from 'zod';
import type { AccessChange } from '../core/access';
import type { Directory } from '../directory/directory';
import { flagOf, id, optionalText, testFlag, timeStamp } from './fields';
import type { KitApplied } from './handler';

export const tenantSyncSchema = (allowHttp: boolean) =>
  z
    .object({
      instanceId: optionalText(64),
      orderId: optionalText(64),
      tenantId: id(),
      tenantCode: optionalText(128),
      name: optionalText(256),
      domainName: optionalText(512),
      flag: flagOf([0, 1, 2] as const),
      testFlag,
      timeStamp,
    })
    .superRefine((b, ctx) => {
      if (b.flag === 0) return;
      if (!b.domainName) {
        ctx.addIssue({ code: 'custom', path: ['domainName'], message: 'is required when adding or modifying a tenant' });
        return;
      }
      let u: URL | undefined;
      try {
        u = new URL(b.domainName);
      } catch {
        /* reported below */
      }
      const okScheme = u && (u.protocol === 'https:' || (allowHttp && u.protocol === 'http:'));
      if (!u || !okScheme || u.search || u.hash || u.username) {
        ctx.addIssue({ code: 'custom', path: ['domainName'], message: 'must be an https:// URL with no query' });
      }
    });

export type TenantSync = z.infer<ReturnType<typeof tenantSyncSchema>>;

export async function applyTenantSync(dir: Directory, b: TenantSync, appId: string): Promise<KitApplied> {
  const outcome = await dir.applyTenant({
    instanceId: b.instanceId,
    tenantId: b.tenantId,
    tenantCode: b.tenantCode,
    name: b.name,
    domainName: b.domainName,
    flag: b.flag,
    testFlag: b.testFlag,
  });
  // An absent tenant is reported too: a retried delete then still ends sessions a failed first try left.
  const gone = b.flag === 0 && (outcome === 'deleted' || outcome === 'absent');
  if (gone) return { outcome, changes: [{ kind: 'tenant-removed', tenantId: b.tenantId }] };
  return { outcome, changes: await subscriptionChanges(dir, b.tenantId, appId) };
}

/**
 * A kit sync that links a tenant to an instance already frozen or released (its basic call came first)
 * takes the tenant's access away: its sessions end as for a freeze.
 */
export async function subscriptionChanges(dir: Directory, tenantId: string, appId: string): Promise<AccessChange[]> {
  const access = await dir.subscriptionOf(tenantId, appId);
  return access.allowed ? [] : [{ kind: 'subscription-inactive', tenantId }];
}
