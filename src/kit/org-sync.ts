import { z } from 'zod';
import type { DepartmentEntry } from '../directory/departments';
import type { Directory } from '../directory/directory';
import { flagOf, id, key, listOf, maybeText, optionalText, testFlag, timeStamp } from './fields';
import type { KitApplied } from './handler';
import { KIT_RESULT, KitFailure } from './result';

/** Bounds the work of one allOrgSync; the body limit bounds it too. */
export const MAX_DEPARTMENTS_PER_CALL = 20_000;

/**
 * Senders have been seen to send `name` for `orgName` (docs/protocol.md §3.7); both are accepted, and a body
 * that gives both with different values is refused rather than guessed at.
 */
function orgName(o: { orgName?: string; name?: string }, ctx: z.RefinementCtx, path: (string | number)[], required: boolean): void {
  if (o.orgName !== undefined && o.name !== undefined && o.orgName !== o.name) {
    ctx.addIssue({ code: 'custom', path: [...path, 'orgName'], message: 'orgName and name differ' });
  } else if (required && !(o.orgName ?? o.name)?.trim()) {
    ctx.addIssue({ code: 'custom', path: [...path, 'orgName'], message: 'is required' });
  }
}

const department = z
  .object({ orgCode: key(128), orgName: maybeText(256), name: maybeText(256), parentCode: maybeText(128) }, { error: 'each department must be an object' })
  .superRefine((o, ctx) => orgName(o, ctx, [], true))
  .transform((o): DepartmentEntry => ({ orgCode: o.orgCode, orgName: o.orgName ?? o.name ?? '', parentCode: o.parentCode ?? '' }));

export const singleOrgSyncSchema = z
  .object({
    instanceId: optionalText(64),
    tenantId: id(),
    orgCode: key(128),
    orgName: maybeText(256),
    name: maybeText(256),
    parentCode: maybeText(128),
    flag: flagOf([0, 1, 2] as const),
    testFlag,
    timeStamp,
  })
  .superRefine((b, ctx) => {
    orgName(b, ctx, [], b.flag !== 0);
    if (b.parentCode !== undefined && b.parentCode === b.orgCode) ctx.addIssue({ code: 'custom', path: ['parentCode'], message: 'cannot be the department itself' });
  });

export type SingleOrgSync = z.infer<typeof singleOrgSyncSchema>;

export async function applySingleOrgSync(dir: Directory, b: SingleOrgSync): Promise<KitApplied> {
  const plan = await dir.applyDepartment({
    tenantId: b.tenantId,
    orgCode: b.orgCode,
    orgName: b.orgName ?? b.name ?? '',
    parentCode: b.parentCode ?? '',
    flag: b.flag,
  });
  if (!plan.ok) throw new KitFailure(KIT_RESULT.badParameter, plan.reason);
  return { outcome: plan.outcome, changes: [] };
}

export const allOrgSyncSchema = z
  .object({
    instanceId: optionalText(64),
    tenantId: id(),
    // V2 names the list orgInfoList; V1 (and some V2 senders) orgInfo.
    orgInfoList: listOf(department, 'departments').optional(),
    orgInfo: listOf(department, 'departments').optional(),
    testFlag,
    timeStamp,
  })
  .superRefine((b, ctx) => {
    if (b.orgInfoList !== undefined && b.orgInfo !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['orgInfo'], message: 'send either orgInfoList or orgInfo, not both' });
      return;
    }
    const list = b.orgInfoList ?? b.orgInfo;
    if (list === undefined) {
      ctx.addIssue({ code: 'custom', path: ['orgInfoList'], message: 'is required' });
      return;
    }
    if (list.length > MAX_DEPARTMENTS_PER_CALL) ctx.addIssue({ code: 'custom', path: ['orgInfoList'], message: `holds at most ${MAX_DEPARTMENTS_PER_CALL} departments` });
    const seen = new Set<string>();
    list.forEach((d, i) => {
      if (seen.has(d.orgCode)) ctx.addIssue({ code: 'custom', path: ['orgInfoList', i, 'orgCode'], message: 'appears more than once' });
      seen.add(d.orgCode);
    });
  })
  .transform((b) => ({ instanceId: b.instanceId, tenantId: b.tenantId, testFlag: b.testFlag, departments: b.orgInfoList ?? b.orgInfo ?? [] }));

export type AllOrgSync = z.infer<typeof allOrgSyncSchema>;

export async function applyAllOrgSync(dir: Directory, b: AllOrgSync): Promise<KitApplied> {
  const plan = await dir.replaceDepartments({ tenantId: b.tenantId, departments: b.departments });
  if (!plan.ok) throw new KitFailure(KIT_RESULT.badParameter, plan.reason);
  return { outcome: plan.counts ?? plan.outcome, changes: [] };
}
