import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AccessControl } from '../access/policy';
import type { Directory } from '../directory/directory';
import { KoogateError } from '../core/errors';
import { pickLang, UI_TEXT } from '../pages/messages';
import type { Views } from '../pages/views';
import { logoutUrl, type MarketplaceOAuth } from '../marketplace/oauth';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { requestContext, requestFields } from '../observability/requests';
import { destroy, regenerate, save } from '../sessions/session-calls';
import type { SessionService } from '../sessions/session-service';
import type { GrantStore } from '../tokens/grant-store';
import { marketplaceRedirect, safeReturnTo } from '../pages/return-to';
import { sendLoginRefused } from '../pages/login-refused';
import { sendError } from '../pages/respond';
import type { TransactionCookie } from './transaction';

export interface AuthRoutesDeps {
  appId: string;
  publicUrl: URL;
  loginUrl: string;
  cookieName: string;
  cookieSecure: boolean;
  directory: Directory;
  /** Who may log in, given what authSync said (access/policy.ts). */
  access: AccessControl;
  oauth: MarketplaceOAuth;
  grants: GrantStore;
  sessions: SessionService;
  tx: TransactionCookie;
  views: Views;
  log: Logger;
  metrics?: Metrics;
  /**
   * KOOGATE_MARKETPLACE_LOGOUT_URL: the marketplace logout for a tenant koogate knows no identity domain of
   * (`{tenant}`, `{redirect_url}` replaced); without it such a page links to koogate's logged-out page.
   */
  unknownTenantLogoutUrl?: string;
}

const single = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** koogate's own login, callback and logout routes, mounted under /_koogate. */
export function authRoutes(d: AuthRoutesDeps): Router {
  const log = d.log.child({ component: 'auth' });
  const router = express.Router();
  const loggedOutUrl = new URL('/_koogate/logged-out', d.publicUrl).toString();
  /** The tenant's marketplace logout, back to the logged-out page; koogate's own page when the domain is unusable. */
  const marketplaceLogout = (domain: string) => marketplaceRedirect(logoutUrl(domain, loggedOutUrl), domain) ?? loggedOutUrl;

  router.get('/login', (req, res) => {
    d.tx.start(res, { returnTo: safeReturnTo(req.query.returnTo) });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, d.loginUrl);
  });

  router.get('/callback', async (req: Request, res: Response, next: NextFunction) => {
    const rid = requestFields(req);
    try {
      res.setHeader('Cache-Control', 'no-store');
      const code = single(req.query.code);
      const tenantId = single(req.query.tenant) ?? single(req.query.tenant_id);
      if (!code || !tenantId || code.length > 2048 || tenantId.length > 128) {
        throw new KoogateError('KOOGATE_CALLBACK_INVALID', 'The sign-in answer was incomplete.', { hasCode: Boolean(code), hasTenant: Boolean(tenantId) });
      }
      const tx = d.tx.read(req);
      if (!tx) {
        // IdP-initiated from the workbench, or forged: the unified login answers at once with a fresh code
        // when the marketplace session is live, this time in a browser that holds a transaction.
        log.info('callback without login transaction; sending the browser through the unified login', { ...rid, tenantId });
        d.metrics?.login('bounced');
        d.tx.start(res, { returnTo: '/', bounced: true });
        res.redirect(302, d.loginUrl);
        return;
      }
      d.tx.clear(res);
      const tenant = await d.directory.getTenant(tenantId);
      if (!tenant) {
        const err = new KoogateError('KOOGATE_TENANT_UNKNOWN', 'Unknown organisation.', { tenantId });
        log.info('request refused', { errorCode: err.code, path: req.path, tenantId });
        // Not "back to the application": the marketplace session would bring the same tenant straight back.
        const template = d.unknownTenantLogoutUrl;
        const other = template ? template.replaceAll('{tenant}', encodeURIComponent(tenantId)).replaceAll('{redirect_url}', encodeURIComponent(loggedOutUrl)) : loggedOutUrl;
        return sendError(req, res, d.views, err, { returnTo: tx.returnTo, otherAccountUrl: other, tenantId });
      }
      const cred = await d.directory.getAppCredential(tenantId, d.appId);
      if (!cred) {
        const err = new KoogateError('KOOGATE_APP_CREDENTIALS_MISSING', 'No credentials for this organisation.', { tenantId, appId: d.appId });
        log.info('request refused', { errorCode: err.code, path: req.path, tenantId });
        return sendError(req, res, d.views, err, { returnTo: tx.returnTo, otherAccountUrl: marketplaceLogout(tenant.domainName), tenantId });
      }
      // Access follows the subscription: with every linked instance frozen or released, nobody of the tenant gets in.
      const subscription = await d.access.subscription(tenantId);
      if (!subscription.allowed) {
        throw new KoogateError('KOOGATE_SUBSCRIPTION_INACTIVE', 'The organisation’s subscription is frozen or has ended.', { tenantId, status: subscription.status });
      }

      const tokens = await d.oauth.exchangeCode(tenant, cred, code);
      const marketplaceUser = await d.oauth.userinfo(tenant, cred, tokens.accessToken);
      // Access follows the directory: decided before any session exists, so a refused user holds nothing.
      const access = await d.access.check(tenantId, marketplaceUser.userName);
      if (!access.allowed) {
        const reason = access.known ? 'authorization cancelled or user disabled' : 'not authorized by authSync';
        d.metrics?.login('KOOGATE_USER_NOT_AUTHORIZED');
        log.info('login refused', { ...rid, tenantId, userName: marketplaceUser.userName, policy: d.access.rule, reason });
        sendLoginRefused(req, res, d.views, {
          user: marketplaceUser,
          tenantName: tenant.name,
          otherAccountUrl: marketplaceLogout(tenant.domainName),
        });
        return;
      }
      // The role the tenant's administrator gave for this app (authSync) outranks userinfo's.
      const user = access.role ? { ...marketplaceUser, role: access.role } : marketplaceUser;
      const grant = await d.grants.create(tenantId, tokens);
      // A login over a live session replaces it: its grant and index entries go with it, on every replica.
      const previous = req.session.auth;
      if (previous) await d.sessions.release(req.sessionID, previous);
      await regenerate(req);
      await d.sessions.start(req, user, grant);
      await save(req);
      log.info('login', { ...rid, tenantId, userName: user.userName, bounced: Boolean(tx.bounced) });
      d.metrics?.login('success');
      const ctx = requestContext(req);
      if (ctx) {
        ctx.tenantId = tenantId;
        ctx.userName = user.userName;
      }
      // Checked again in its final form: the transaction cookie may predate today's rule.
      res.redirect(302, safeReturnTo(tx.returnTo));
    } catch (e) {
      d.metrics?.login(e instanceof KoogateError ? e.code : 'KOOGATE_INTERNAL');
      next(e);
    }
  });

  router.get('/logout', (req, res) => {
    const ui = UI_TEXT[pickLang(req)];
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      d.views.render('logout', {
        lang: pickLang(req) === 'zh' ? 'zh-CN' : 'en',
        title: ui.logoutTitle,
        message: ui.logoutMessage,
        confirmLabel: ui.logoutConfirm,
        everywhereLabel: ui.logoutEverywhere,
        everywhereHint: ui.logoutEverywhereHint,
        cancelLabel: ui.cancel,
      }),
    );
  });

  router.post('/logout', async (req: Request, res: Response, next: NextFunction) => {
    try {
      // Cross-site posts never get here (http/app.ts refuses them for every state-changing route).
      // "Sign out on all devices" ends every session of this user (other browsers, other replicas, their
      // websockets), then the marketplace session like a plain logout.
      const scope = (req.body as Record<string, unknown> | undefined)?.scope;
      if (scope !== undefined && scope !== 'this' && scope !== 'all') throw new KoogateError('KOOGATE_BAD_REQUEST', 'Unknown logout scope.', { scope: String(scope).slice(0, 20) });
      const auth = req.session?.auth;
      let target = loggedOutUrl;
      if (auth) {
        const { tenantId, userName } = auth.user;
        const tenant = await d.directory.getTenant(tenantId);
        await d.sessions.release(req.sessionID, auth);
        const others = scope === 'all' ? await d.sessions.endSessions({ tenantId, userName }) : 0;
        await destroy(req);
        if (tenant) target = marketplaceLogout(tenant.domainName);
        log.info('logout', { ...requestFields(req), tenantId, userName, everywhere: scope === 'all', otherSessionsEnded: others });
        d.metrics?.sessionEnded('logout');
        const ctx = requestContext(req);
        if (ctx) {
          ctx.tenantId = tenantId;
          ctx.userName = userName;
        }
      }
      res.clearCookie(d.cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure: d.cookieSecure });
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, target);
    } catch (e) {
      next(e);
    }
  });

  router.get('/logged-out', (req, res) => {
    const lang = pickLang(req);
    const ui = UI_TEXT[lang];
    res.type('html').send(
      d.views.render('logged-out', { lang: lang === 'zh' ? 'zh-CN' : 'en', title: ui.loggedOutTitle, message: ui.loggedOutMessage, loginLabel: ui.signIn }),
    );
  });

  return router;
}
