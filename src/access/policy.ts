import type { AccessChange, AccessPolicy as LoginRule, Role, SubscriptionAccess, UserAccess } from '../core/access';

/** Where the policy reads what the directory says of a user and of the tenant's subscriptions (directory/directory.ts). */
export interface AccessSource {
  getUserAccess(tenantId: string, userName: string): Promise<UserAccess | null>;
  subscriptionOf(tenantId: string): Promise<SubscriptionAccess>;
}

/** What revocation needs of the session layer (sessions/session-service.ts). */
export interface SessionEnder {
  endSessions(filter: { tenantId: string; userName?: string }): Promise<number>;
}

/** Tells every replica that what is known of a user changed (sessions/invalidation.ts). */
export type RoleChangeNotice = (msg: { kind: 'user'; tenantId: string; userName: string; ended: false }) => Promise<void>;

/** The verdict on one user: may they be in, with which role, and does the directory know them at all. */
export interface AccessVerdict {
  allowed: boolean;
  role?: Role;
  known: boolean;
  /** Whether the tenant's subscriptions let it in; when not, `allowed` is false whatever the user's record says. */
  subscription: SubscriptionAccess;
}

/** The login decision: the directory's word where it has one, the rule where it has none. */
export function mayLogIn(rule: LoginRule, access: UserAccess | null): boolean {
  if (access) return access.allowed;
  return rule === 'tenant';
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
    case 'subscription-inactive':
      return sessions.endSessions({ tenantId: change.tenantId });
    case 'users-updated':
      return 0;
  }
}

/**
 * The access and revocation policy: who may be in (at login and on every full session check), and what a
 * kit call that changed access does to live sessions. KOOGATE_ACCESS_POLICY decides for users the
 * directory does not know.
 */
export class AccessControl {
  constructor(
    private readonly d: { rule: LoginRule; directory: AccessSource; sessions: SessionEnder; notify: RoleChangeNotice },
  ) {}

  get rule(): LoginRule {
    return this.d.rule;
  }

  /**
   * The directory's word on this user under the configured rule, and on the tenant's subscriptions (read
   * side by side): at login and on every full session check, so a freeze a missed message did not carry
   * still reaches a live session within the session cache's life.
   */
  async check(tenantId: string, userName: string): Promise<AccessVerdict> {
    const [access, subscription] = await Promise.all([this.d.directory.getUserAccess(tenantId, userName), this.d.directory.subscriptionOf(tenantId)]);
    return { allowed: subscription.allowed && mayLogIn(this.d.rule, access), role: access?.role, known: access !== null, subscription };
  }

  /** Whether the tenant's subscriptions let anyone of it in (the login asks before the token exchange). */
  subscription(tenantId: string): Promise<SubscriptionAccess> {
    return this.d.directory.subscriptionOf(tenantId);
  }

  /**
   * After a kit call's write: the sessions of users, tenants and credentials it took away end at once; a
   * role change reaches every replica's session cache, so the next request carries the new role.
   */
  async follow(change: AccessChange): Promise<void> {
    await endRevokedSessions(change, this.d.sessions);
    if (change.kind === 'users-updated') {
      await Promise.all(change.userNames.map((userName) => this.d.notify({ kind: 'user', tenantId: change.tenantId, userName, ended: false })));
    }
  }
}
