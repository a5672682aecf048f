import type { Role, TenantId, UserRecord } from './types';

/**
 * Who may log in (KOOGATE_ACCESS_POLICY):
 * - `authorized`: only users that authSync authorized and enabled for the tenant;
 * - `tenant`: any user of a synced tenant, except those authSync cancelled or disabled (early testing,
 *   before the marketplace sends authSync).
 */
export type AccessPolicy = 'authorized' | 'tenant';

export const ACCESS_POLICIES: readonly AccessPolicy[] = ['authorized', 'tenant'];

/** What the directory says of one user; null from getUserAccess means it holds no record of them. */
export interface UserAccess {
  allowed: boolean;
  role?: Role;
}

export function accessOf(rec: UserRecord): UserAccess {
  return { allowed: rec.authorized && rec.enabled, role: rec.role };
}

/** The login decision: the directory's word where it has one, the policy where it has none. */
export function mayLogIn(policy: AccessPolicy, access: UserAccess | null): boolean {
  if (access) return access.allowed;
  return policy === 'tenant';
}

/**
 * What a kit sync changed about who may be in, so live sessions can follow. Revocations are reported for
 * every user a call names, even when the directory already said so: a retried call then ends sessions a
 * failed first attempt left alive.
 */
export type AccessChange =
  | { kind: 'users-revoked'; tenantId: TenantId; userNames: string[] }
  | { kind: 'users-updated'; tenantId: TenantId; userNames: string[] }
  | { kind: 'tenant-removed'; tenantId: TenantId }
  | { kind: 'credentials-removed'; tenantId: TenantId };

/** The part of the session layer that revocation needs (sessions/session-service.ts implements it). */
export interface SessionEnder {
  endSessions(filter: { tenantId: string; userName?: string }): Promise<number>;
}

/**
 * Ends the live sessions an access change takes away. Ending a session deletes its grant, which every
 * replica reads on every request, so the user is logged out everywhere at their next request.
 * Role changes (users-updated) end nothing: the session stays, the role is read per request.
 */
export async function endRevokedSessions(change: AccessChange, sessions: SessionEnder): Promise<number> {
  switch (change.kind) {
    case 'users-revoked': {
      const counts = await Promise.all(change.userNames.map((userName) => sessions.endSessions({ tenantId: change.tenantId, userName })));
      return counts.reduce((a, b) => a + b, 0);
    }
    case 'tenant-removed':
    case 'credentials-removed':
      return sessions.endSessions({ tenantId: change.tenantId });
    case 'users-updated':
      return 0;
  }
}
