import type { SandboxApp, SandboxBehaviour, SandboxStats, SandboxTenant, SandboxUser } from '../types';
import type { Faults } from './faults';

/**
 * What every room of the stand-in marketplace shares: the tenants and apps it knows, the behaviour tests
 * set, the counters they read, and the fault injection. A room is a module that mounts its routes
 * (`mount(app)`) and reads or changes only this and its own state.
 */
export interface RoomContext {
  readonly tenants: SandboxTenant[];
  readonly apps: Map<string, SandboxApp>;
  readonly stats: SandboxStats;
  /** Read on every request: tests change it at any time. */
  behaviour(): SandboxBehaviour;
  /** The sandbox's own origin, known once it listens. */
  url(): string;
  /** `${url}/unified-login/#/portal-login?ind=UNOP&appId={appId}`. */
  loginUrlTemplate(): string;
  tenant(tenantId: string): SandboxTenant | undefined;
  user(tenant: SandboxTenant, userName: string): SandboxUser | undefined;
  readonly faults: Faults;
}

export function defaultBehaviour(): SandboxBehaviour {
  return {
    expiresIn: 7200,
    refreshExpiresIn: 30 * 24 * 3600,
    rotateRefreshTokens: true,
    tokenDelayMs: 0,
    userinfoDelayMs: 0,
    codeTtlSeconds: 300,
    callbackTenantParam: 'tenant',
  };
}

export function emptyStats(): SandboxStats {
  return {
    authorizationCodeGrants: 0,
    refreshGrants: 0,
    failedGrants: 0,
    userinfoCalls: 0,
    logouts: 0,
    tokenRequests: 0,
    codesIssued: 0,
  };
}
