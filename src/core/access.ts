/**
 * The contract of access: who may log in, what the directory says of one user, and what a kit call
 * changed about it. Shared by the directory (which answers), the login and session check (which ask),
 * kit sync (which reports changes) and the access policy (access/policy.ts, which decides and follows).
 */

/** A user's role in the app, as authSync or userinfo give it. */
export type Role = 'admin' | 'user';

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

/**
 * What a kit sync changed about who may be in, so live sessions can follow. Revocations are reported for
 * every user a call names, even when the directory already said so: a retried call then ends sessions a
 * failed first attempt left alive.
 */
export type AccessChange =
  | { kind: 'users-revoked'; tenantId: string; userNames: string[] }
  | { kind: 'users-updated'; tenantId: string; userNames: string[] }
  | { kind: 'tenant-removed'; tenantId: string }
  | { kind: 'credentials-removed'; tenantId: string }
  /** Every instance linked to the tenant is frozen or released (basic interfaces, or a kit sync linking one). */
  | { kind: 'subscription-inactive'; tenantId: string };

/**
 * Whether a tenant's subscriptions let it in: with no linked instance, or at least one that is neither
 * frozen nor released (directory/subscription.ts decides).
 */
export type SubscriptionAccess = { allowed: true } | { allowed: false; status: 'frozen' | 'released' };
