import type { Express, Request, RequestHandler, Response } from 'express';
import { readCookie } from '../../core/cookies';
import { renderLoginPage, sendMarketplaceError, sendMarketplacePage, type LoginPageData } from '../login-page';
import type { SandboxApp } from '../types';
import type { RoomContext } from './context';
import { randomToken } from './oauth-server';

/** Name of the marketplace's browser session cookie (HttpOnly, Path=/, host-only on the sandbox host). */
export const MARKETPLACE_SESSION_COOKIE = 'kg_mp_session';

export const UNIFIED_LOGIN_PATH = '/unified-login/';
const AUTHORIZE_PATH = '/unified-login/authorize';
const CONTINUE_PATH = '/unified-login/continue';
const SESSION_TTL_MS = 12 * 3600 * 1000;

interface SessionRecord {
  tenantId: string;
  userName: string;
  expiresAt: number;
}

/**
 * The unified login room: the login page (parameters in the URL fragment, as the real one), its form
 * post that starts the marketplace's browser session, the continuation of a live session, and the
 * logout on each tenant's identity domain that ends it (docs/protocol.md, "Login").
 */
export class UnifiedLogin {
  private readonly sessions = new Map<string, SessionRecord>();

  constructor(
    private readonly ctx: RoomContext,
    /** The OAuth server's: a code for this user of this app. */
    private readonly issueCode: (appId: string, tenantId: string, userName: string) => string,
  ) {}

  mount(app: Express, form: RequestHandler): void {
    // Express 5 matches '/unified-login' and '/unified-login/' alike (non-strict routing).
    app.get('/unified-login', (req, res) => this.loginPage(req, res));
    app.post(AUTHORIZE_PATH, form, (req, res) => this.authorize(req, res));
    app.get(CONTINUE_PATH, (req, res) => this.continueLogin(req, res));
    app.get('/t/:tenantId/api/v1/logout', (req, res) => this.logout(req, res));
  }

  private callbackRedirect(app: SandboxApp, code: string, tenantId: string): string {
    const u = new URL(app.callbackUrl);
    u.searchParams.set('code', code);
    u.searchParams.set(this.ctx.behaviour().callbackTenantParam, tenantId);
    return u.toString();
  }

  private liveSession(req: Request): { sid: string; record: SessionRecord } | undefined {
    const sid = readCookie(req.headers.cookie, MARKETPLACE_SESSION_COOKIE);
    if (!sid) return undefined;
    const record = this.sessions.get(sid);
    if (!record) return undefined;
    if (record.expiresAt <= Date.now()) {
      this.sessions.delete(sid);
      return undefined;
    }
    const tenant = this.ctx.tenant(record.tenantId);
    if (!tenant || !this.ctx.user(tenant, record.userName)) {
      this.sessions.delete(sid);
      return undefined;
    }
    return { sid, record };
  }

  private clearSessionCookie(res: Response): void {
    res.clearCookie(MARKETPLACE_SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
  }

  private loginPage(req: Request, res: Response): void {
    const live = this.liveSession(req);
    let session: LoginPageData['session'];
    if (live) {
      const tenant = this.ctx.tenant(live.record.tenantId);
      const user = tenant && this.ctx.user(tenant, live.record.userName);
      if (tenant && user) {
        session = { tenantId: tenant.tenantId, tenantName: tenant.name, userName: user.userName, name: user.name };
      }
    }
    const data: LoginPageData = {
      apps: [...this.ctx.apps.keys()],
      tenants: this.ctx.tenants.map((t) => ({
        tenantId: t.tenantId,
        name: t.name,
        users: t.users.map((u) => ({ userName: u.userName, name: u.name, role: u.role ?? 'user' })),
      })),
      authorizePath: AUTHORIZE_PATH,
      continuePath: CONTINUE_PATH,
      ...(session ? { session } : {}),
    };
    sendMarketplacePage(res, 200, (nonce) => renderLoginPage(data, nonce));
  }

  private authorize(req: Request, res: Response): void {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const appId = typeof body.appId === 'string' ? body.appId : '';
    const tenantId = typeof body.tenantId === 'string' ? body.tenantId : '';
    const userName = typeof body.userName === 'string' ? body.userName : '';
    const app = this.ctx.apps.get(appId);
    if (!app) {
      sendMarketplaceError(res, 400, `应用未注册：${appId || '（空）'}`, `Unknown application: ${appId || '(empty)'}`);
      return;
    }
    const tenant = this.ctx.tenant(tenantId);
    if (!tenant) {
      sendMarketplaceError(res, 400, `企业不存在：${tenantId || '（空）'}`, `Unknown tenant: ${tenantId || '(empty)'}`);
      return;
    }
    if (!this.ctx.user(tenant, userName)) {
      sendMarketplaceError(res, 400, `用户不存在：${userName || '（空）'}`, `Unknown user ${userName || '(empty)'} in tenant ${tenantId}`);
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
    const app = this.ctx.apps.get(appId);
    if (!app) {
      sendMarketplaceError(res, 400, `应用未注册：${appId || '（空）'}`, `Unknown application: ${appId || '(empty)'}`);
      return;
    }
    res.set('Cache-Control', 'no-store');
    const live = this.liveSession(req);
    if (!live) {
      // No session (or a dead one): clear the cookie so the form shows instead of looping back here.
      this.clearSessionCookie(res);
      res.redirect(302, this.ctx.loginUrlTemplate().replace('{appId}', encodeURIComponent(appId)));
      return;
    }
    const code = this.issueCode(appId, live.record.tenantId, live.record.userName);
    res.redirect(302, this.callbackRedirect(app, code, live.record.tenantId));
  }

  private logout(req: Request, res: Response): void {
    const tenantId = String(req.params.tenantId);
    if (!this.ctx.tenant(tenantId)) {
      res.status(404).json({ error: 'not_found', error_description: `unknown identity domain for tenant ${tenantId}` });
      return;
    }
    const raw = req.query.redirect_url;
    let target = `${this.ctx.url()}${UNIFIED_LOGIN_PATH}`;
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
        sendMarketplaceError(res, 400, 'redirect_url 无效，须为 http(s) 绝对地址。', 'redirect_url must be an absolute http(s) URL.');
        return;
      }
      target = u.toString();
    }
    const live = this.liveSession(req);
    if (live) this.sessions.delete(live.sid);
    this.clearSessionCookie(res);
    this.ctx.stats.logouts++;
    res.set('Cache-Control', 'no-store').redirect(302, target);
  }
}
