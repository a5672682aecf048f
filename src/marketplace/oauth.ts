import * as oidc from 'openid-client';
import type { AppCredential, TenantRecord } from '../directory/types';
import { KoogateError } from '../core/errors';
import type { MarketplaceUser, TokenSet } from '../core/identity';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';

/**
 * KooGallery's per-tenant OAuth 2.0 endpoints (docs/protocol.md §2). The only module that knows their paths,
 * parameters and error shapes.
 */
export const tokenEndpoint = (domain: string) => `${domain}/api/v1/oauth2/token`;
export const userinfoEndpoint = (domain: string) => `${domain}/api/v1/oauth2/userinfo`;
export const logoutUrl = (domain: string, redirectUrl: string) =>
  `${domain}/api/v1/logout?redirect_url=${encodeURIComponent(redirectUrl)}`;

/** What a refresh grant gave: new tokens, or a refusal (with the marketplace's error, for the log). */
export type RefreshResult =
  | { kind: 'renewed'; tokens: TokenSet }
  | { kind: 'refused'; code: 'KOOGATE_GRANT_INVALID' | 'KOOGATE_CLIENT_REJECTED'; error?: string; status?: number };

export interface OAuthClientOptions {
  timeoutMs: number;
  allowHttp: boolean;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** Without `expires_in` the documented default applies. */
const DEFAULT_EXPIRES_IN = 7200;

export class MarketplaceOAuth {
  private readonly now: () => number;

  constructor(private readonly opts: OAuthClientOptions) {
    this.now = opts.now ?? Date.now;
  }

  private configuration(tenant: TenantRecord, cred: AppCredential): oidc.Configuration {
    const domain = tenant.domainName;
    if (!domain.startsWith('https://') && !(this.opts.allowHttp && domain.startsWith('http://'))) {
      throw new KoogateError('KOOGATE_TENANT_UNKNOWN', 'This organisation is not set up for sign-in correctly.', {
        reason: 'tenant identity domain is not https (set KOOGATE_ALLOW_HTTP_MARKETPLACE only for local tests)',
        tenantId: tenant.tenantId,
      });
    }
    const config = new oidc.Configuration(
      { issuer: domain, token_endpoint: tokenEndpoint(domain), userinfo_endpoint: userinfoEndpoint(domain) },
      cred.clientId,
      undefined,
      oidc.ClientSecretPost(cred.clientSecret),
    );
    config.timeout = Math.max(1, Math.ceil(this.opts.timeoutMs / 1000));
    if (domain.startsWith('http://')) oidc.allowInsecureRequests(config);
    return config;
  }

  /** Times one marketplace call for the metrics; a refusal is read from the answer or the error it ends with. */
  private async timed<T>(endpoint: 'token' | 'refresh' | 'userinfo', call: () => Promise<T>): Promise<T> {
    const metrics = this.opts.metrics;
    if (!metrics) return call();
    const started = performance.now();
    try {
      const out = await call();
      const refused = (out as { kind?: unknown }).kind === 'refused';
      metrics.marketplaceCall(endpoint, refused ? 'refused' : 'ok', (performance.now() - started) / 1000);
      return out;
    } catch (e) {
      const unavailable = e instanceof KoogateError && e.code === 'KOOGATE_MARKETPLACE_UNAVAILABLE';
      metrics.marketplaceCall(endpoint, unavailable ? 'unavailable' : 'refused', (performance.now() - started) / 1000);
      throw e;
    }
  }

  exchangeCode(tenant: TenantRecord, cred: AppCredential, code: string): Promise<TokenSet> {
    return this.timed('token', () => this.exchangeCodeOnce(tenant, cred, code));
  }

  /**
   * The refresh grant. A refusal (the refresh token is dead, or the marketplace no longer accepts this
   * app's credentials) is an answer, not a failure: the session it belongs to ends. An unreachable
   * marketplace throws KOOGATE_MARKETPLACE_UNAVAILABLE.
   */
  refresh(tenant: TenantRecord, cred: AppCredential, refreshToken: string): Promise<RefreshResult> {
    return this.timed('refresh', () => this.refreshOnce(tenant, cred, refreshToken));
  }

  userinfo(tenant: TenantRecord, cred: AppCredential, accessToken: string): Promise<MarketplaceUser> {
    return this.timed('userinfo', () => this.userinfoOnce(tenant, cred, accessToken));
  }

  private async exchangeCodeOnce(tenant: TenantRecord, cred: AppCredential, code: string): Promise<TokenSet> {
    const config = this.configuration(tenant, cred);
    try {
      return this.toTokenSet(await oidc.genericGrantRequest(config, 'authorization_code', { code }));
    } catch (e) {
      throw this.mapError(e, 'token exchange', tenant.tenantId);
    }
  }

  private async refreshOnce(tenant: TenantRecord, cred: AppCredential, refreshToken: string): Promise<RefreshResult> {
    const config = this.configuration(tenant, cred);
    try {
      const res = await oidc.refreshTokenGrant(config, refreshToken);
      const set = this.toTokenSet(res);
      // Rotation is possible: keep the refresh token the last answer returned, else the one we used.
      return { kind: 'renewed', tokens: { ...set, refreshToken: set.refreshToken ?? refreshToken } };
    } catch (e) {
      const err = this.mapError(e, 'token renewal', tenant.tenantId);
      if (err.code === 'KOOGATE_GRANT_INVALID' || err.code === 'KOOGATE_CLIENT_REJECTED') {
        return { kind: 'refused', code: err.code, error: err.detail.error as string | undefined, status: err.detail.status as number | undefined };
      }
      throw err;
    }
  }

  private async userinfoOnce(tenant: TenantRecord, cred: AppCredential, accessToken: string): Promise<MarketplaceUser> {
    const config = this.configuration(tenant, cred);
    let body: unknown;
    try {
      // fetchUserInfo insists on a `sub`, which KooGallery's answer does not have.
      const res = await oidc.fetchProtectedResource(
        config,
        accessToken,
        new URL(userinfoEndpoint(tenant.domainName)),
        'GET',
        null,
        new Headers({ accept: 'application/json' }),
      );
      if (res.status === 401 || res.status === 403) {
        throw new KoogateError('KOOGATE_GRANT_INVALID', 'The marketplace did not accept the sign-in.', { step: 'userinfo', status: res.status, tenantId: tenant.tenantId });
      }
      if (!res.ok) {
        throw new KoogateError('KOOGATE_MARKETPLACE_UNAVAILABLE', 'The marketplace could not be reached. Please try again shortly.', { step: 'userinfo', status: res.status, tenantId: tenant.tenantId });
      }
      body = await res.json();
    } catch (e) {
      throw this.mapError(e, 'userinfo', tenant.tenantId);
    }
    return parseUserinfo(body, tenant.tenantId);
  }

  private toTokenSet(res: oidc.TokenEndpointResponse): TokenSet {
    const expiresIn = typeof res.expires_in === 'number' && res.expires_in > 0 ? res.expires_in : DEFAULT_EXPIRES_IN;
    const refreshIn = Number(res.refresh_expires_in);
    return {
      accessToken: res.access_token,
      refreshToken: typeof res.refresh_token === 'string' ? res.refresh_token : undefined,
      expiresAt: this.now() + expiresIn * 1000,
      refreshExpiresAt: Number.isFinite(refreshIn) && refreshIn > 0 ? this.now() + refreshIn * 1000 : undefined,
      scope: typeof res.scope === 'string' ? res.scope : undefined,
    };
  }

  /** Turns library, network and protocol errors into koogate errors; the log gets the operator's detail. */
  private mapError(e: unknown, step: string, tenantId: string): KoogateError {
    if (e instanceof KoogateError) return e;
    const err = e as { name?: string; code?: string; error?: string; status?: number; cause?: unknown; message?: string };
    if (e instanceof oidc.ResponseBodyError) {
      const detail = { step, tenantId, status: err.status, error: err.error };
      if (err.error === 'invalid_grant') {
        return new KoogateError('KOOGATE_GRANT_INVALID', 'The sign-in has expired or was already used. Please sign in again.', detail);
      }
      if (err.error === 'invalid_client' || err.status === 401 || err.status === 403) {
        return new KoogateError('KOOGATE_CLIENT_REJECTED', 'The marketplace rejected this application’s credentials.', detail);
      }
      return new KoogateError('KOOGATE_MARKETPLACE_UNAVAILABLE', 'The marketplace could not complete the sign-in. Please try again shortly.', detail);
    }
    if (e instanceof oidc.WWWAuthenticateChallengeError) {
      return new KoogateError('KOOGATE_GRANT_INVALID', 'The marketplace did not accept the sign-in.', { step, tenantId, status: err.status });
    }
    const cause = err.cause as { message?: string; code?: string; name?: string } | undefined;
    if (err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || err.code === 'OAUTH_INVALID_RESPONSE' || err.code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
      const status = (cause as { status?: number } | undefined)?.status;
      if (status === 401 || status === 403) {
        return new KoogateError('KOOGATE_CLIENT_REJECTED', 'The marketplace rejected this application’s credentials.', { step, tenantId, status });
      }
      return new KoogateError('KOOGATE_MARKETPLACE_UNAVAILABLE', 'The marketplace gave an answer koogate cannot use. Please try again shortly.', {
        step,
        tenantId,
        reason: err.message,
        cause: cause?.message,
        status,
      });
    }
    // Network failures, refused connections and timeouts (AbortSignal.timeout → TimeoutError).
    return new KoogateError('KOOGATE_MARKETPLACE_UNAVAILABLE', 'The marketplace could not be reached. Please try again shortly.', {
      step,
      tenantId,
      reason: err.name === 'TimeoutError' || cause?.name === 'TimeoutError' ? 'timeout' : (cause?.code ?? cause?.message ?? err.message),
    });
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Protocol open point: require `userName` (or `id`); everything else optional. */
export function parseUserinfo(body: unknown, tenantId: string): MarketplaceUser {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new KoogateError('KOOGATE_USERINFO_INVALID', 'The marketplace returned no usable user information.', { tenantId, reason: 'not an object' });
  }
  const b = body as Record<string, unknown>;
  const userName = str(b.userName) ?? str(b.id);
  if (!userName) {
    throw new KoogateError('KOOGATE_USERINFO_INVALID', 'The marketplace returned no usable user information.', { tenantId, reason: 'no userName or id' });
  }
  const claimedTenant = str(b.tenant);
  if (claimedTenant && claimedTenant !== tenantId) {
    throw new KoogateError('KOOGATE_USERINFO_INVALID', 'The marketplace returned a user of another organisation.', { tenantId, claimedTenant });
  }
  const user: MarketplaceUser = {
    tenantId,
    userName,
    id: str(b.id),
    name: str(b.name),
    email: str(b.email),
    mobile: str(b.mobile),
    role: str(b.role),
    userId: str(b.userId),
    organizationName: str(b.organizationName),
    organizationCode: str(b.organizationCode),
    projectName: str(b.projectName),
  };
  for (const field of IDENTIFYING_FIELDS) {
    const v = user[field];
    if (v !== undefined && LONE_SURROGATE.test(v)) {
      // Replaced by U+FFFD it could meet another user's name; kept, it fits no store key or header.
      throw new KoogateError('KOOGATE_USER_UNSUPPORTED', 'The marketplace returned user information koogate cannot pass on to the application.', { tenantId, reason: `${field} is not valid Unicode (lone surrogate)` });
    }
  }
  for (const [field, max] of FIELD_LIMITS) {
    const v = user[field];
    if (v !== undefined && v.length > max) {
      throw new KoogateError('KOOGATE_USER_UNSUPPORTED', 'The marketplace returned user information koogate cannot pass on to the application.', { tenantId, reason: `${field} is longer than ${max} characters` });
    }
  }
  return user;
}

/** A UTF-16 surrogate without its partner: no character at all. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Fields that name a user (the directory's key, what apps match on): never altered, so refused when not Unicode. */
const IDENTIFYING_FIELDS = ['userName', 'email'] as const;

/**
 * Longest accepted userinfo fields. Identity values reach the app in headers (percent-encoded, up to nine
 * bytes a character) and in the signed assertion; beyond these an app server's header limit (often 8 to
 * 16 KiB in all) would refuse every request of the user. Refused at login, with the reason, instead.
 */
const FIELD_LIMITS: readonly [keyof MarketplaceUser, number][] = [
  ['userName', 256],
  ['name', 256],
  ['email', 320],
  ['role', 128],
  ['id', 256],
  ['userId', 256],
  ['mobile', 64],
  ['organizationName', 512],
  ['organizationCode', 256],
  ['projectName', 512],
];
