/**
 * The sandbox marketplace: a local stand-in for KooGallery's side of the login contract
 * (PROTOCOL.md section 2), served over real HTTP so koogate's real OAuth client code is exercised.
 *
 * Used by the demo (`npm start` with no configuration) and by tests. Production code never imports it.
 *
 * What it serves, on one origin (`url`):
 *   GET  /unified-login/                         the unified login page (parameters in the URL fragment)
 *   POST /unified-login/authorize                form post of the page: sets the marketplace session, 302 to callback
 *   GET  /unified-login/continue?appId=          live session: fresh code, 302 to callback; else back to the form
 *   POST /t/:tenantId/api/v1/oauth2/token        authorization_code and refresh_token grants (client_secret_post)
 *   GET  /t/:tenantId/api/v1/oauth2/userinfo     Bearer access token
 *   GET  /t/:tenantId/api/v1/logout              ends the marketplace session, 302 to redirect_url
 *   GET  /api/mkp-openapi-public/global/v1/order/query      AK/SK-signed order query (order-query.ts)
 *   POST /api/mkp-openapi-public/global/v1/isv/usage-data   signed usage-record push (usage-intake.ts)
 * Each tenant's identity domain (`domainOf`) is `${url}/t/${tenantId}`.
 *
 * Simplification: a tenant has one OAuth client (clientId/clientSecret) that serves every registered app.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { renderErrorPage, renderLoginPage, type LoginPageData } from './login-page';
import { OrderQueryRoom } from './order-query';
import { UsageIntakeRoom } from './usage-intake';

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

export type SandboxFailure = { status: number; body: unknown } | 'hang' | 'reset';

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
  /** Name of the tenant parameter on the callback redirect. Default 'tenant' (PROTOCOL 2.2 allows 'tenant_id'). */
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
  /** Closes the server and every open socket (keep-alive, hung requests) at once. */
  close(): Promise<void>;
}

/** Name of the marketplace's browser session cookie (HttpOnly, Path=/, host-only on the sandbox host). */
export const MARKETPLACE_SESSION_COOKIE = 'kg_mp_session';

const UNIFIED_LOGIN_PATH = '/unified-login/';
const AUTHORIZE_PATH = '/unified-login/authorize';
const CONTINUE_PATH = '/unified-login/continue';
const SESSION_TTL_MS = 12 * 3600 * 1000;

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

function emptyStats(): SandboxStats {
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

/** Two demo tenants with fixed client credentials (so a static dev seed can match them). */
export function demoTenants(): SandboxTenant[] {
  return [
    {
      tenantId: 't-acme',
      tenantCode: 'acme',
      name: 'Acme 科技有限公司',
      clientId: 'acme-client',
      clientSecret: 'sandbox-secret-acme-0c1d9f4e',
      users: [
        {
          userName: 'zhangwei',
          name: '张伟',
          email: 'zhangwei@acme.example',
          mobile: '13800000001',
          role: 'admin',
          id: 'u-acme-0001',
          organizationCode: 'acme-rd',
          organizationName: '研发部',
        },
        {
          userName: 'lina',
          name: '李娜',
          email: 'lina@acme.example',
          mobile: '13800000002',
          role: 'user',
          id: 'u-acme-0002',
          organizationCode: 'acme-sales',
          organizationName: '销售部',
        },
        {
          userName: 'bob',
          name: 'Bob Smith',
          email: 'bob@acme.example',
          role: 'user',
          id: 'u-acme-0003',
        },
      ],
    },
    {
      tenantId: 't-globex',
      tenantCode: 'globex',
      name: 'Globex 环球集团',
      clientId: 'globex-client',
      clientSecret: 'sandbox-secret-globex-7a52b8e3',
      users: [
        {
          userName: 'wangfang',
          name: '王芳',
          email: 'wangfang@globex.example',
          mobile: '13900000001',
          role: 'admin',
          id: 'u-globex-0001',
          organizationCode: 'globex-hq',
          organizationName: '总部',
        },
        {
          userName: 'john',
          name: 'John Doe',
          email: 'john@globex.example',
          role: 'user',
          id: 'u-globex-0002',
        },
      ],
    },
  ];
}

interface CodeRecord {
  appId: string;
  tenantId: string;
  userName: string;
  expiresAt: number;
}

interface AccessTokenRecord {
  tenantId: string;
  userName: string;
  clientId: string;
  expiresAt: number;
}

interface RefreshTokenRecord {
  tenantId: string;
  userName: string;
  clientId: string;
  expiresAt: number;
}

interface SessionRecord {
  tenantId: string;
  userName: string;
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

function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function secretsEqual(a: string, b: string): boolean {
  // Hash first so lengths match and the comparison time says nothing about the secret.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
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

function validateCallbackUrl(app: SandboxApp): void {
  let u: URL;
  try {
    u = new URL(app.callbackUrl);
  } catch {
    throw new Error(`sandbox: callbackUrl of app ${app.appId} is not an absolute URL: ${app.callbackUrl}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`sandbox: callbackUrl of app ${app.appId} must be http(s): ${app.callbackUrl}`);
  }
  if (!app.appId) throw new Error('sandbox: appId must not be empty');
}

class SandboxServer implements Sandbox {
  url = '';
  loginUrlTemplate = '';
  behaviour: SandboxBehaviour;
  readonly tenants: SandboxTenant[];
  readonly orderQuery = new OrderQueryRoom();
  readonly usageIntake = new UsageIntakeRoom();

  private readonly statsValue: SandboxStats = emptyStats();
  private readonly apps = new Map<string, SandboxApp>();
  private readonly codes = new Map<string, CodeRecord>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private closed = false;

  constructor(opts: SandboxOptions) {
    this.tenants = opts.tenants ?? demoTenants();
    this.behaviour = { ...defaultBehaviour(), ...opts.behaviour };
    for (const app of opts.apps ?? []) this.registerApp(app);
    this.server = createServer(this.buildApp());
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get stats(): SandboxStats {
    return this.statsValue;
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    let urlHost = host;
    if (host === '0.0.0.0' || host === '') urlHost = '127.0.0.1';
    else if (host === '::') urlHost = '[::1]';
    else if (host.includes(':')) urlHost = `[${host}]`;
    this.url = `http://${urlHost}:${addr.port}`;
    this.loginUrlTemplate = `${this.url}${UNIFIED_LOGIN_PATH}#/portal-login?ind=UNOP&appId={appId}`;
  }

  domainOf(tenantId: string): string {
    return `${this.url}/t/${encodeURIComponent(tenantId)}`;
  }

  registerApp(app: SandboxApp): void {
    validateCallbackUrl(app);
    this.apps.set(app.appId, { appId: app.appId, callbackUrl: app.callbackUrl });
  }

  resetStats(): void {
    const s = this.statsValue;
    Object.assign(s, emptyStats());
    delete s.lastTokenRequest;
  }

  issueCode(appId: string, tenantId: string, userName: string): string {
    if (!this.apps.has(appId)) throw new Error(`sandbox: unknown app ${appId}`);
    const tenant = this.tenant(tenantId);
    if (!tenant) throw new Error(`sandbox: unknown tenant ${tenantId}`);
    if (!tenant.users.some((u) => u.userName === userName)) {
      throw new Error(`sandbox: unknown user ${userName} in tenant ${tenantId}`);
    }
    const code = randomToken(24);
    this.codes.set(code, {
      appId,
      tenantId,
      userName,
      expiresAt: Date.now() + this.behaviour.codeTtlSeconds * 1000,
    });
    this.statsValue.codesIssued++;
    return code;
  }

  expireAccessTokens(): void {
    const past = Date.now() - 1;
    for (const t of this.accessTokens.values()) t.expiresAt = past;
  }

  revokeRefreshTokens(): void {
    this.refreshTokens.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await done;
  }

  // ---- internals -------------------------------------------------------------------------------

  private tenant(tenantId: string): SandboxTenant | undefined {
    return this.tenants.find((t) => t.tenantId === tenantId);
  }

  private user(tenant: SandboxTenant, userName: string): SandboxUser | undefined {
    return tenant.users.find((u) => u.userName === userName);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private callbackRedirect(app: SandboxApp, code: string, tenantId: string): string {
    const u = new URL(app.callbackUrl);
    u.searchParams.set('code', code);
    u.searchParams.set(this.behaviour.callbackTenantParam, tenantId);
    return u.toString();
  }

  private liveSession(req: Request): { sid: string; record: SessionRecord } | undefined {
    const sid = parseCookies(req.headers.cookie).get(MARKETPLACE_SESSION_COOKIE);
    if (!sid) return undefined;
    const record = this.sessions.get(sid);
    if (!record) return undefined;
    if (record.expiresAt <= Date.now()) {
      this.sessions.delete(sid);
      return undefined;
    }
    const tenant = this.tenant(record.tenantId);
    if (!tenant || !this.user(tenant, record.userName)) {
      this.sessions.delete(sid);
      return undefined;
    }
    return { sid, record };
  }

  private clearSessionCookie(res: Response): void {
    res.clearCookie(MARKETPLACE_SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
  }

  private htmlPage(res: Response, status: number, render: (nonce: string) => string): void {
    const nonce = randomBytes(16).toString('base64');
    res
      .status(status)
      .set({
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        // No form-action: Chromium applies it to the redirect after the post, which leaves this origin.
        'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      })
      .send(render(nonce));
  }

  private errorPage(res: Response, status: number, zh: string, en: string): void {
    this.htmlPage(res, status, (nonce) => renderErrorPage(status, zh, en, nonce));
  }

  private sendFailure(res: Response, failure: { status: number; body: unknown }): void {
    res.status(failure.status).set('Cache-Control', 'no-store');
    if (typeof failure.body === 'string') res.type('text/plain').send(failure.body);
    else res.json(failure.body);
  }

  /** Applies a forced failure; returns true when the request has been dealt with. */
  private applyFailure(req: Request, res: Response, failure: SandboxFailure | undefined): boolean {
    if (failure === undefined) return false;
    if (failure === 'hang') return true; // never answer; close() destroys the socket
    if (failure === 'reset') {
      req.socket.destroy();
      return true;
    }
    this.sendFailure(res, failure);
    return true;
  }

  private buildApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const form = express.urlencoded({ extended: false, limit: '16kb' });

    // Express 5 matches '/unified-login' and '/unified-login/' alike (non-strict routing).
    app.get('/unified-login', (req, res) => this.loginPage(req, res));
    app.post(AUTHORIZE_PATH, form, (req, res) => this.authorize(req, res));
    app.get(CONTINUE_PATH, (req, res) => this.continueLogin(req, res));
    app.post('/t/:tenantId/api/v1/oauth2/token', form, (req, res) => this.token(req, res));
    app.get('/t/:tenantId/api/v1/oauth2/userinfo', (req, res) => this.userinfo(req, res));
    app.get('/t/:tenantId/api/v1/logout', (req, res) => this.logout(req, res));
    app.use(this.orderQuery.router());
    app.use(this.usageIntake.router());

    app.use((req, res) => {
      res.status(404).json({ error: 'not_found', error_description: `no route for ${req.method} ${req.path}` });
    });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      if (res.headersSent) return;
      const status =
        typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
      if (status >= 500) {
        res.status(500).json({ error: 'server_error', error_description: String(err) });
      } else {
        res.status(status).json({ error: 'invalid_request', error_description: String((err as Error).message ?? err) });
      }
    });
    return app;
  }

  // ---- unified login -----------------------------------------------------------------------------

  private loginPage(req: Request, res: Response): void {
    const live = this.liveSession(req);
    let session: LoginPageData['session'];
    if (live) {
      const tenant = this.tenant(live.record.tenantId);
      const user = tenant && this.user(tenant, live.record.userName);
      if (tenant && user) {
        session = { tenantId: tenant.tenantId, tenantName: tenant.name, userName: user.userName, name: user.name };
      }
    }
    const data: LoginPageData = {
      apps: [...this.apps.keys()],
      tenants: this.tenants.map((t) => ({
        tenantId: t.tenantId,
        name: t.name,
        users: t.users.map((u) => ({ userName: u.userName, name: u.name, role: u.role ?? 'user' })),
      })),
      authorizePath: AUTHORIZE_PATH,
      continuePath: CONTINUE_PATH,
      ...(session ? { session } : {}),
    };
    this.htmlPage(res, 200, (nonce) => renderLoginPage(data, nonce));
  }

  private authorize(req: Request, res: Response): void {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const appId = typeof body.appId === 'string' ? body.appId : '';
    const tenantId = typeof body.tenantId === 'string' ? body.tenantId : '';
    const userName = typeof body.userName === 'string' ? body.userName : '';
    const app = this.apps.get(appId);
    if (!app) {
      this.errorPage(res, 400, `应用未注册：${appId || '（空）'}`, `Unknown application: ${appId || '(empty)'}`);
      return;
    }
    const tenant = this.tenant(tenantId);
    if (!tenant) {
      this.errorPage(res, 400, `企业不存在：${tenantId || '（空）'}`, `Unknown tenant: ${tenantId || '(empty)'}`);
      return;
    }
    if (!this.user(tenant, userName)) {
      this.errorPage(res, 400, `用户不存在：${userName || '（空）'}`, `Unknown user ${userName || '(empty)'} in tenant ${tenantId}`);
      return;
    }
    const previous = this.liveSession(req);
    if (previous) this.sessions.delete(previous.sid);
    const sid = randomToken(32);
    this.sessions.set(sid, { tenantId, userName, expiresAt: Date.now() + SESSION_TTL_MS });
    res.cookie(MARKETPLACE_SESSION_COOKIE, sid, { path: '/', httpOnly: true, sameSite: 'lax' });
    const code = this.issueCode(appId, tenantId, userName);
    res.set('Cache-Control', 'no-store').redirect(302, this.callbackRedirect(app, code, tenantId));
  }

  private continueLogin(req: Request, res: Response): void {
    const appId = typeof req.query.appId === 'string' ? req.query.appId : '';
    const app = this.apps.get(appId);
    if (!app) {
      this.errorPage(res, 400, `应用未注册：${appId || '（空）'}`, `Unknown application: ${appId || '(empty)'}`);
      return;
    }
    res.set('Cache-Control', 'no-store');
    const live = this.liveSession(req);
    if (!live) {
      // No session (or a dead one): clear the cookie so the form shows instead of looping back here.
      this.clearSessionCookie(res);
      res.redirect(302, this.loginUrlTemplate.replace('{appId}', encodeURIComponent(appId)));
      return;
    }
    const code = this.issueCode(appId, live.record.tenantId, live.record.userName);
    res.redirect(302, this.callbackRedirect(app, code, live.record.tenantId));
  }

  // ---- OAuth endpoints ---------------------------------------------------------------------------

  private async token(req: Request, res: Response): Promise<void> {
    const stats = this.statsValue;
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

    await this.sleep(this.behaviour.tokenDelayMs);
    if (this.closed) return;
    if (this.behaviour.failToken !== undefined) {
      stats.failedGrants++;
      this.applyFailure(req, res, this.behaviour.failToken);
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
    const tenant = this.tenant(tenantId);
    if (!tenant) throw new OAuthError(404, 'invalid_request', `unknown identity domain for tenant ${tenantId}`);

    // Client authentication (client_secret_post) first, as OAuth servers do.
    const clientId = f.client_id ?? '';
    const clientSecret = f.client_secret ?? '';
    if (!clientId || !clientSecret) {
      throw new OAuthError(401, 'invalid_client', 'client_id and client_secret are required in the body');
    }
    const owner = this.tenants.find((t) => t.clientId === clientId);
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
      const app = this.apps.get(record.appId);
      if (!app || app.callbackUrl !== f.redirect_uri) {
        throw new OAuthError(400, 'invalid_grant', 'redirect_uri does not match the registered callback URL');
      }
    }
    if (!this.user(tenant, record.userName)) throw new OAuthError(400, 'invalid_grant', 'user no longer exists');
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
    if (!this.user(tenant, record.userName)) {
      this.refreshTokens.delete(token);
      throw new OAuthError(400, 'invalid_grant', 'user no longer exists');
    }
    if (this.behaviour.rotateRefreshTokens) {
      this.refreshTokens.delete(token);
      return this.issueTokens(tenant, record.userName, undefined);
    }
    return this.issueTokens(tenant, record.userName, token);
  }

  private issueTokens(tenant: SandboxTenant, userName: string, keepRefreshToken: string | undefined): Record<string, unknown> {
    const now = Date.now();
    const b = this.behaviour;
    const accessToken = randomToken(32);
    this.accessTokens.set(accessToken, {
      tenantId: tenant.tenantId,
      userName,
      clientId: tenant.clientId,
      expiresAt: now + b.expiresIn * 1000,
    });
    let refreshToken = keepRefreshToken;
    if (refreshToken === undefined) {
      refreshToken = randomToken(32);
      this.refreshTokens.set(refreshToken, {
        tenantId: tenant.tenantId,
        userName,
        clientId: tenant.clientId,
        expiresAt: now + b.refreshExpiresIn * 1000,
      });
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
    this.statsValue.userinfoCalls++;
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    await this.sleep(this.behaviour.userinfoDelayMs);
    if (this.closed) return;
    if (this.applyFailure(req, res, this.behaviour.failUserinfo)) return;

    const unauthorized = (description: string): void => {
      res
        .status(401)
        .set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description}"`)
        .json({ error: 'unauthorized', error_description: description });
    };
    const tenantId = String(req.params.tenantId);
    const tenant = this.tenant(tenantId);
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
    const user = this.user(tenant, record.userName);
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

  private logout(req: Request, res: Response): void {
    const tenantId = String(req.params.tenantId);
    if (!this.tenant(tenantId)) {
      res.status(404).json({ error: 'not_found', error_description: `unknown identity domain for tenant ${tenantId}` });
      return;
    }
    const raw = req.query.redirect_url;
    let target = `${this.url}${UNIFIED_LOGIN_PATH}`;
    if (raw !== undefined) {
      let u: URL | undefined;
      if (typeof raw === 'string') {
        try {
          u = new URL(raw);
        } catch {
          u = undefined;
        }
      }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
        this.errorPage(res, 400, 'redirect_url 无效，须为 http(s) 绝对地址。', 'redirect_url must be an absolute http(s) URL.');
        return;
      }
      target = u.toString();
    }
    const live = this.liveSession(req);
    if (live) this.sessions.delete(live.sid);
    this.clearSessionCookie(res);
    this.statsValue.logouts++;
    res.set('Cache-Control', 'no-store').redirect(302, target);
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = new SandboxServer(opts);
  await sandbox.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return sandbox;
}
