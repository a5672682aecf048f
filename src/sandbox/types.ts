/** The stand-in marketplace's public shapes: what tests and the demo configure and read. */
import type { SandboxFailure } from './rooms/faults';
import type { OrderQueryRoom } from './rooms/order-query';
import type { SandboxOrders } from './rooms/orders';
import type { UsageIntakeRoom } from './rooms/usage-intake';

export interface SandboxUser {
  userName: string;
  name: string;
  email?: string;
  mobile?: string;
  role?: 'admin' | 'user';
  id?: string;
  organizationCode?: string;
  organizationName?: string;
}

export interface SandboxTenant {
  tenantId: string;
  tenantCode: string;
  name: string;
  clientId: string;
  clientSecret: string;
  users: SandboxUser[];
}

export interface SandboxApp {
  appId: string;
  callbackUrl: string;
}

export type { SandboxFailure };

export interface SandboxBehaviour {
  /** Seconds; used for new access tokens. Default 7200. */
  expiresIn: number;
  /** Seconds; used for new refresh tokens. Default 30 days. */
  refreshExpiresIn: number;
  /** Default true: a refresh returns a new refresh token and the used one dies (second use → invalid_grant). */
  rotateRefreshTokens: boolean;
  /** Delay before answering the token endpoint. Default 0. */
  tokenDelayMs: number;
  /** Delay before answering the userinfo endpoint. Default 0. */
  userinfoDelayMs: number;
  /** Override token endpoint answers: a status + body (a string body is sent as text/plain), never answer, or destroy the socket. */
  failToken?: SandboxFailure;
  failUserinfo?: SandboxFailure;
  /** Lifetime of authorization codes, seconds. Default 300. */
  codeTtlSeconds: number;
  /** Name of the tenant parameter on the callback redirect. Default 'tenant' (docs/protocol.md §2.2 allows 'tenant_id'). */
  callbackTenantParam: 'tenant' | 'tenant_id';
}

export interface SandboxStats {
  /** Successful authorization_code grants. */
  authorizationCodeGrants: number;
  /** Successful refresh_token grants. */
  refreshGrants: number;
  /** Token requests answered with an error, including forced failures (failToken). */
  failedGrants: number;
  /** Every request that reached the userinfo endpoint. */
  userinfoCalls: number;
  logouts: number;
  /** Every request that reached a token endpoint (successful, failed, hung or reset). */
  tokenRequests: number;
  /** Authorization codes issued (form login, session continuation, issueCode). */
  codesIssued: number;
  /** Form fields of the last token request, client_secret replaced by "***". */
  lastTokenRequest?: Record<string, string>;
}

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default demoTenants(). The array is used as is (not copied): tests may add or remove tenants and users later. */
  tenants?: SandboxTenant[];
  apps?: SandboxApp[];
  behaviour?: Partial<SandboxBehaviour>;
}

export interface Sandbox {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** `${url}/unified-login/#/portal-login?ind=UNOP&appId={appId}`, placeholder literally "{appId}". */
  loginUrlTemplate: string;
  /** The tenant's identity domain: `${url}/t/${tenantId}` (scheme included, no trailing slash). */
  domainOf(tenantId: string): string;
  /** Registers (or re-registers, replacing the callback URL) an app. */
  registerApp(app: SandboxApp): void;
  readonly tenants: SandboxTenant[];
  /** Mutable by tests at any time; read on every request. */
  behaviour: SandboxBehaviour;
  readonly stats: SandboxStats;
  resetStats(): void;
  /** What a successful unified login produces, without a browser. Throws on unknown app/tenant/user. */
  issueCode(appId: string, tenantId: string, userName: string): string;
  /** Makes every access token issued so far expired now. */
  expireAccessTokens(): void;
  /** Every refresh token issued so far becomes invalid_grant. */
  revokeRefreshTokens(): void;
  /** The order query koogate calls with AK/SK (orders, keys, forced failures, counts). */
  readonly orderQuery: OrderQueryRoom;
  /** The usage intake koogate pushes records to (basic key, pay-per-use instances, accepted records). */
  readonly usageIntake: UsageIntakeRoom;
  /** Purchases (newInstance, then the kit syncs) and the order console that freezes, unfreezes and releases. */
  readonly orders: SandboxOrders;
  /** Closes the server and every open socket (keep-alive, hung requests) at once. */
  close(): Promise<void>;
}
