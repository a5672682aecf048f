import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { SandboxTenant } from '../types';
import type { RoomContext } from './context';

/**
 * The OAuth server room: each tenant's identity domain (`/t/:tenantId`) with its token endpoint
 * (authorization_code and refresh_token grants, client_secret_post) and userinfo (docs/protocol.md, "Login").
 * It issues and remembers the codes and tokens; the unified login asks it for codes.
 */

interface CodeRecord {
  appId: string;
  tenantId: string;
  userName: string;
  expiresAt: number;
}

interface TokenRecord {
  tenantId: string;
  userName: string;
  clientId: string;
  expiresAt: number;
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function secretsEqual(a: string, b: string): boolean {
  // Hash first so lengths match and the comparison time says nothing about the secret.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The form body as string fields; anything else (repeated keys, no parser match) is refused. */
function formFields(req: Request): Record<string, string> {
  const body: unknown = req.body;
  const out: Record<string, string> = {};
  if (body === undefined || body === null || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new OAuthError(400, 'invalid_request', `parameter ${k} must appear once`);
    out[k] = v;
  }
  return out;
}

export class OAuthServer {
  private readonly codes = new Map<string, CodeRecord>();
  private readonly accessTokens = new Map<string, TokenRecord>();
  private readonly refreshTokens = new Map<string, TokenRecord>();

  constructor(private readonly ctx: RoomContext) {}

  mount(app: Express, form: RequestHandler): void {
    app.post('/t/:tenantId/api/v1/oauth2/token', form, (req, res) => this.token(req, res));
    app.get('/t/:tenantId/api/v1/oauth2/userinfo', (req, res) => this.userinfo(req, res));
  }

  /** What a successful unified login produces. Throws on unknown app/tenant/user. */
  issueCode(appId: string, tenantId: string, userName: string): string {
    if (!this.ctx.apps.has(appId)) throw new Error(`sandbox: unknown app ${appId}`);
    const tenant = this.ctx.tenant(tenantId);
    if (!tenant) throw new Error(`sandbox: unknown tenant ${tenantId}`);
    if (!tenant.users.some((u) => u.userName === userName)) {
      throw new Error(`sandbox: unknown user ${userName} in tenant ${tenantId}`);
    }
    const code = randomToken(24);
    this.codes.set(code, { appId, tenantId, userName, expiresAt: Date.now() + this.ctx.behaviour().codeTtlSeconds * 1000 });
    this.ctx.stats.codesIssued++;
    return code;
  }

  expireAccessTokens(): void {
    const past = Date.now() - 1;
    for (const t of this.accessTokens.values()) t.expiresAt = past;
  }

  revokeRefreshTokens(): void {
    this.refreshTokens.clear();
  }

  private async token(req: Request, res: Response): Promise<void> {
    const stats = this.ctx.stats;
    stats.tokenRequests++;
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    let fields: Record<string, string>;
    try {
      fields = formFields(req);
    } catch (err) {
      stats.failedGrants++;
      this.oauthError(res, err);
      return;
    }
    const recorded: Record<string, string> = { ...fields };
    if ('client_secret' in recorded) recorded.client_secret = '***';
    stats.lastTokenRequest = recorded;

    await this.ctx.faults.sleep(this.ctx.behaviour().tokenDelayMs);
    if (this.ctx.faults.closed) return;
    const failure = this.ctx.behaviour().failToken;
    if (failure !== undefined) {
      stats.failedGrants++;
      this.ctx.faults.apply(req, res, failure);
      return;
    }

    try {
      const body = this.grant(String(req.params.tenantId), fields);
      if (fields.grant_type === 'refresh_token') stats.refreshGrants++;
      else stats.authorizationCodeGrants++;
      res.status(200).json(body);
    } catch (err) {
      stats.failedGrants++;
      this.oauthError(res, err);
    }
  }

  private oauthError(res: Response, err: unknown): void {
    if (err instanceof OAuthError) {
      res.status(err.status).json({ error: err.error, error_description: err.description });
    } else {
      res.status(500).json({ error: 'server_error', error_description: String(err) });
    }
  }

  private grant(tenantId: string, f: Record<string, string>): Record<string, unknown> {
    const tenant = this.ctx.tenant(tenantId);
    if (!tenant) throw new OAuthError(404, 'invalid_request', `unknown identity domain for tenant ${tenantId}`);

    // Client authentication (client_secret_post) first, as OAuth servers do.
    const clientId = f.client_id ?? '';
    const clientSecret = f.client_secret ?? '';
    if (!clientId || !clientSecret) {
      throw new OAuthError(401, 'invalid_client', 'client_id and client_secret are required in the body');
    }
    const owner = this.ctx.tenants.find((t) => t.clientId === clientId);
    if (!owner || !secretsEqual(owner.clientSecret, clientSecret)) {
      throw new OAuthError(401, 'invalid_client', 'client authentication failed');
    }
    if (owner.tenantId !== tenant.tenantId) {
      throw new OAuthError(403, 'access_denied', `client ${clientId} does not belong to the domain of tenant ${tenantId}`);
    }

    const grantType = f.grant_type;
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    if (grantType === 'authorization_code') return this.codeGrant(tenant, f);
    if (grantType === 'refresh_token') return this.refreshGrant(tenant, f);
    throw new OAuthError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
  }

  private codeGrant(tenant: SandboxTenant, f: Record<string, string>): Record<string, unknown> {
    const code = f.code;
    if (!code) throw new OAuthError(400, 'invalid_request', 'code is required');
    const record = this.codes.get(code);
    if (!record) throw new OAuthError(400, 'invalid_grant', 'authorization code is invalid or has already been used');
    // Single use: any presentation consumes it, even a failing one.
    this.codes.delete(code);
    if (record.expiresAt <= Date.now()) throw new OAuthError(400, 'invalid_grant', 'authorization code has expired');
    if (record.tenantId !== tenant.tenantId) {
      throw new OAuthError(400, 'invalid_grant', 'authorization code was issued for another tenant');
    }
    if (f.redirect_uri !== undefined) {
      const app = this.ctx.apps.get(record.appId);
      if (!app || app.callbackUrl !== f.redirect_uri) {
        throw new OAuthError(400, 'invalid_grant', 'redirect_uri does not match the registered callback URL');
      }
    }
    if (!this.ctx.user(tenant, record.userName)) throw new OAuthError(400, 'invalid_grant', 'user no longer exists');
    return this.issueTokens(tenant, record.userName, undefined);
  }

  private refreshGrant(tenant: SandboxTenant, f: Record<string, string>): Record<string, unknown> {
    const token = f.refresh_token;
    if (!token) throw new OAuthError(400, 'invalid_request', 'refresh_token is required');
    const record = this.refreshTokens.get(token);
    if (!record) throw new OAuthError(400, 'invalid_grant', 'refresh token is invalid, revoked or already used');
    if (record.expiresAt <= Date.now()) {
      this.refreshTokens.delete(token);
      throw new OAuthError(400, 'invalid_grant', 'refresh token has expired');
    }
    if (record.clientId !== tenant.clientId || record.tenantId !== tenant.tenantId) {
      throw new OAuthError(400, 'invalid_grant', 'refresh token was not issued to this client');
    }
    if (!this.ctx.user(tenant, record.userName)) {
      this.refreshTokens.delete(token);
      throw new OAuthError(400, 'invalid_grant', 'user no longer exists');
    }
    if (this.ctx.behaviour().rotateRefreshTokens) {
      this.refreshTokens.delete(token);
      return this.issueTokens(tenant, record.userName, undefined);
    }
    return this.issueTokens(tenant, record.userName, token);
  }

  private issueTokens(tenant: SandboxTenant, userName: string, keepRefreshToken: string | undefined): Record<string, unknown> {
    const now = Date.now();
    const b = this.ctx.behaviour();
    const accessToken = randomToken(32);
    this.accessTokens.set(accessToken, { tenantId: tenant.tenantId, userName, clientId: tenant.clientId, expiresAt: now + b.expiresIn * 1000 });
    let refreshToken = keepRefreshToken;
    if (refreshToken === undefined) {
      refreshToken = randomToken(32);
      this.refreshTokens.set(refreshToken, { tenantId: tenant.tenantId, userName, clientId: tenant.clientId, expiresAt: now + b.refreshExpiresIn * 1000 });
    }
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: b.expiresIn,
      scope: 'get_user_info',
      refresh_token: refreshToken,
    };
  }

  private async userinfo(req: Request, res: Response): Promise<void> {
    this.ctx.stats.userinfoCalls++;
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    await this.ctx.faults.sleep(this.ctx.behaviour().userinfoDelayMs);
    if (this.ctx.faults.closed) return;
    if (this.ctx.faults.apply(req, res, this.ctx.behaviour().failUserinfo)) return;

    const unauthorized = (description: string): void => {
      res
        .status(401)
        .set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description}"`)
        .json({ error: 'unauthorized', error_description: description });
    };
    const tenantId = String(req.params.tenantId);
    const tenant = this.ctx.tenant(tenantId);
    if (!tenant) {
      res.status(404).json({ error: 'not_found', error_description: `unknown identity domain for tenant ${tenantId}` });
      return;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1]) {
      unauthorized('missing Bearer access token');
      return;
    }
    const record = this.accessTokens.get(m[1]);
    if (!record || record.tenantId !== tenant.tenantId) {
      unauthorized('access token is invalid');
      return;
    }
    if (record.expiresAt <= Date.now()) {
      unauthorized('access token has expired');
      return;
    }
    const user = this.ctx.user(tenant, record.userName);
    if (!user) {
      unauthorized('user no longer exists');
      return;
    }
    const id = user.id ?? createHash('sha256').update(`${tenant.tenantId}\n${user.userName}`).digest('hex').slice(0, 24);
    const info: Record<string, string> = { id, userName: user.userName, name: user.name };
    if (user.email !== undefined) info.email = user.email;
    if (user.mobile !== undefined) info.mobile = user.mobile;
    info.role = user.role ?? 'user';
    info.userId = id;
    if (user.organizationName !== undefined) info.organizationName = user.organizationName;
    if (user.organizationCode !== undefined) info.organizationCode = user.organizationCode;
    info.projectName = tenant.name;
    info.tenant = tenant.tenantId;
    res.status(200).json(info);
  }
}
