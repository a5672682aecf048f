import { z } from 'zod';
import type { AccessChange } from '../core/access';
import type { Directory } from '../directory/directory';
import type { AuthSyncFlag, UserEntry } from '../directory/users';
import { flagOf, id, key, listOf, maybeText, optionalText, testFlag, timeStamp } from './fields';
import type { KitApplied } from './handler';
import { KIT_RESULT, KitFailure } from './result';

/** docs/protocol.md §3.5: at most this many users a call. */
export const MAX_USERS_PER_CALL = 500;

const user = z.object(
  {
    userName: key(128),
    name: maybeText(256),
    orgCode: maybeText(128),
    role: z.enum(['user', 'admin'], { error: 'must be "user" or "admin"' }).nullish(),
    // The protocol's enable is a string; a JSON boolean is a sender bug worth refusing, not guessing at.
    enable: z.enum(['true', 'false'], { error: 'must be the string "true" or "false"' }).nullish(),
    position: maybeText(128),
    employeeCode: maybeText(64),
    employeeType: flagOf([1, 2, 3, 4] as const).nullish(),
    mobile: maybeText(32),
    email: maybeText(256),
    workPlace: maybeText(256),
    entryDate: maybeText(32),
  },
  { error: 'each user must be an object' },
);

export const authSyncSchema = z
  .object({
    instanceId: optionalText(64),
    tenantId: id(),
    appId: id(),
    userList: listOf(user, 'users')
      .refine((l) => l.length > 0, 'must name at least one user')
      .refine((l) => l.length <= MAX_USERS_PER_CALL, `holds at most ${MAX_USERS_PER_CALL} users per call`),
    currentSyncTime: z.union([z.string().max(32), z.number()]).optional(),
    flag: flagOf([0, 1, 2, 3] as const),
    testFlag,
    timeStamp,
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.userList.forEach((u, i) => {
      if (seen.has(u.userName)) ctx.addIssue({ code: 'custom', path: ['userList', i, 'userName'], message: 'appears more than once' });
      seen.add(u.userName);
      // Adding or modifying says what the user may do; deleting and cancelling need only the name.
      if (b.flag === 1 || b.flag === 2) {
        if (!u.role) ctx.addIssue({ code: 'custom', path: ['userList', i, 'role'], message: 'is required when adding or modifying' });
        if (!u.enable) ctx.addIssue({ code: 'custom', path: ['userList', i, 'enable'], message: 'is required when adding or modifying' });
      }
    });
  });

export type AuthSync = z.infer<typeof authSyncSchema>;

function entry(u: AuthSync['userList'][number]): UserEntry {
  const e: UserEntry = { userName: u.userName };
  if (u.name !== undefined) e.name = u.name;
  if (u.orgCode !== undefined) e.orgCode = u.orgCode;
  if (u.role) e.role = u.role;
  if (u.enable) e.enabled = u.enable === 'true';
  for (const k of ['position', 'employeeCode', 'mobile', 'email', 'workPlace', 'entryDate'] as const) {
    const v = u[k];
    if (v !== undefined) e[k] = v;
  }
  if (u.employeeType !== undefined && u.employeeType !== null) e.employeeType = u.employeeType;
  return e;
}

export async function applyAuthSync(dir: Directory, appId: string, b: AuthSync): Promise<KitApplied> {
  if (b.appId !== appId) throw new KitFailure(KIT_RESULT.badParameter, 'appId is not the app this koogate serves');
  const outcome = await dir.applyAuthSync({
    instanceId: b.instanceId,
    tenantId: b.tenantId,
    appId: b.appId,
    flag: b.flag as AuthSyncFlag,
    testFlag: b.testFlag,
    users: b.userList.map(entry),
  });
  const changes: AccessChange[] = [];
  if (outcome.revoked.length > 0) changes.push({ kind: 'users-revoked', tenantId: b.tenantId, userNames: outcome.revoked });
  if (outcome.updated.length > 0) changes.push({ kind: 'users-updated', tenantId: b.tenantId, userNames: outcome.updated });
  return { outcome: outcome.counts, changes };
}
