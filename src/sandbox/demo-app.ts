/**
 * A small demo ISV app that sits *behind* koogate.
 *
 * koogate authenticates the user and adds identity headers to every proxied request:
 *   X-Forwarded-User (userName), X-Forwarded-Tenant (tenantId), X-Forwarded-Email,
 *   X-Forwarded-Name (display name, percent-encoded UTF-8), X-Forwarded-Role.
 *
 * SECURITY: this app trusts those headers blindly. That is only acceptable because it listens on
 * 127.0.0.1 and is reached through koogate alone, which strips any client-sent copies before adding
 * its own. Never expose an app like this one directly.
 *
 * Routes: GET / (landing), GET /me (identity table, the organisation's orders when koogate's directory
 * API is at hand, logout form), GET /api/whoami (identity JSON),
 * ALL /api/echo (method, url, headers, body length and sha256, streamed).
 */
import { sharedStyle } from '../pages/views';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import express, { type Request, type Response } from 'express';
import { escapeHtml, pageShell, sendPage } from './page-shell';
import { serve } from './serve';

export interface DemoIdentity {
  user?: string;
  tenant?: string;
  email?: string;
  name?: string;
  role?: string;
}

export interface DemoRequestRecord {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface DemoApp {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The last request the app received (any route), for tests. */
  readonly lastRequest?: DemoRequestRecord;
  close(): Promise<void>;
}

/** koogate's logout route: the demo's logout button posts here, through koogate. */
export const KOOGATE_LOGOUT_PATH = '/_koogate/logout';

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** Percent-decoded UTF-8; a badly encoded value is shown as received rather than failing the page. */
export function decodeHeaderValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function identityOf(req: Request): DemoIdentity {
  const id: DemoIdentity = {};
  const user = header(req, 'x-forwarded-user');
  const tenant = header(req, 'x-forwarded-tenant');
  const email = header(req, 'x-forwarded-email');
  const name = header(req, 'x-forwarded-name');
  const role = header(req, 'x-forwarded-role');
  if (user !== undefined) id.user = user;
  if (tenant !== undefined) id.tenant = tenant;
  if (email !== undefined) id.email = email;
  if (name !== undefined) id.name = decodeHeaderValue(name);
  if (role !== undefined) id.role = role;
  return id;
}

/** koogate's own style sheet first (font stack, colours, buttons), then what this page adds. */
const STYLE = `${sharedStyle()}
  * { box-sizing: border-box; }
  body { margin: 0; background: #f7f8fa; color: #1f2329; }
  header { background: #1e3a5f; color: #fff; padding: 14px 24px; font-weight: 600; }
  header .en { color: #c9d6e8; font-weight: normal; margin-left: 8px; font-size: 13px; }
  main { max-width: 640px; margin: 32px auto; padding: 28px 32px; background: #fff; border-radius: 8px;
    box-shadow: 0 1px 8px rgba(0,0,0,.06); }
  h1 { margin: 0 0 16px; font-size: 22px; }
  .en { color: #646a73; font-size: 13px; }
  h1 .en { display: block; font-size: 14px; font-weight: normal; margin-top: 2px; }
  table { width: 100%; border-collapse: collapse; margin: 12px 0 20px; }
  th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #eceef1; font-size: 14px; vertical-align: top; }
  th { width: 40%; color: #646a73; font-weight: normal; }
  td { word-break: break-all; }
  a { color: #1d5fbf; }
  .button, button { display: inline-block; padding: 8px 18px; font-size: 15px; border-radius: 4px; border: 0;
    background: #1d5fbf; color: #fff; text-decoration: none; cursor: pointer; }
  button.secondary { background: #c7000b; }
  .row { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  .notice { padding: 10px 14px; background: #fff8e6; border: 1px solid #ffe2a8; border-radius: 4px; font-size: 14px; }
`;

function page(title: string, body: string): string {
  return pageShell({
    title: escapeHtml(title),
    style: STYLE,
    body: `<header>演示应用<span class="en">Demo app · behind koogate</span></header>
<main>
${body}
</main>
`,
  });
}

// No form-action: the logout post is redirected by koogate to the marketplace, another origin.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'";

function sendHtml(res: Response, status: number, html: string): void {
  sendPage(res, status, html, CSP);
}

function landing(id: DemoIdentity): string {
  if (id.user) {
    const who = `${escapeHtml(id.name ?? id.user)} (${escapeHtml(id.user)} @ ${escapeHtml(id.tenant ?? '?')})`;
    return page(
      '演示应用 · Demo app',
      `<h1>欢迎 <span class="en">Demo app</span></h1>
<p id="status" data-testid="status" data-logged-in="true">已登录 <span class="en">Logged in as</span> <strong>${who}</strong></p>
<p class="row"><a class="button" id="me-link" data-testid="me-link" href="/me">我的身份 / My identity</a></p>`,
    );
  }
  return page(
    '演示应用 · Demo app',
    `<h1>演示应用 <span class="en">Demo app</span></h1>
<p id="status" data-testid="status" data-logged-in="false">尚未登录。<span class="en">You are not logged in.</span></p>
<p class="row"><a class="button" id="login" data-testid="login" href="/me">登录 / Log in</a></p>`,
  );
}

/** One instance of the user's organisation with what koogate read of its order (directory API). */
export interface DemoSubscription {
  instanceId: string;
  status: string;
  orderId?: string;
  orderType?: string;
  chargingMode?: string;
  expireTime?: string;
  customerName?: string;
  /** pending, fetched or failed; absent when koogate reads no orders. */
  orderState?: string;
}

function subscriptionTable(subs: DemoSubscription[]): string {
  if (subs.length === 0) return '';
  const cell = (v: string | undefined, testId: string) => `<td data-testid="${testId}">${escapeHtml(v ?? '—')}</td>`;
  const rows = subs
    .map(
      (s) =>
        `<tr data-testid="order-row">${cell(s.instanceId, 'order-instance')}${cell(s.orderId, 'order-id')}${cell(s.orderType, 'order-type')}${cell(s.chargingMode, 'order-charging')}${cell(s.expireTime, 'order-expiry')}${cell(s.customerName, 'order-buyer')}${cell(s.orderState === 'fetched' ? s.status : `${s.status} (${s.orderState ?? 'no details'})`, 'order-status')}</tr>`,
    )
    .join('\n');
  return `<h2>订阅 <span class="en">Subscription (order details koogate read from KooGallery)</span></h2>
<table data-testid="orders">
<tr><th>实例 <span class="en">Instance</span></th><th>订单 <span class="en">Order</span></th><th>类型 <span class="en">Type</span></th><th>计费 <span class="en">Charging</span></th><th>到期 <span class="en">Expires</span></th><th>买家 <span class="en">Buyer</span></th><th>状态 <span class="en">Status</span></th></tr>
${rows}
</table>`;
}

function mePage(id: DemoIdentity, subs: DemoSubscription[] = []): string {
  if (!id.user) {
    return page(
      '我的身份 · My identity',
      `<h1>我的身份 <span class="en">My identity</span></h1>
<p class="notice" id="no-identity" data-testid="no-identity">未收到身份信息：请通过 koogate 访问本应用。<br>
<span class="en">No identity headers received: reach this app through koogate.</span></p>
<p><a href="/" id="home-link" data-testid="home-link">返回首页 / Back to home</a></p>`,
    );
  }
  const row = (zh: string, en: string, testId: string, value: string | undefined): string =>
    `<tr><th>${zh} <span class="en">${en}</span></th><td id="${testId}" data-testid="${testId}">${escapeHtml(value ?? '')}</td></tr>`;
  return page(
    '我的身份 · My identity',
    `<h1>我的身份 <span class="en">My identity</span></h1>
<table>
${row('姓名', 'Display name', 'user-name', id.name)}
${row('用户名', 'User name', 'user-id', id.user)}
${row('企业', 'Tenant', 'tenant-id', id.tenant)}
${row('邮箱', 'Email', 'user-email', id.email)}
${row('角色', 'Role', 'user-role', id.role)}
</table>
${subscriptionTable(subs)}
<form class="row" method="post" action="/me/note" id="note-form">
  <input name="note" id="note" maxlength="200" placeholder="备注 / Note">
  <button type="submit" id="save-note" data-testid="save-note">保存 / Save</button>
</form>
<div class="row">
  <form method="post" action="${KOOGATE_LOGOUT_PATH}">
    <button type="submit" class="secondary" id="logout" data-testid="logout">退出登录 / Log out</button>
  </form>
  <a href="/" id="home-link" data-testid="home-link">返回首页 / Back to home</a>
</div>`,
  );
}

export interface DemoAppOptions {
  host?: string;
  port?: number;
  /** The instances of a tenant, as koogate's directory API shows them; absent: /me shows none. */
  subscriptions?: (tenantId: string) => Promise<DemoSubscription[]>;
}

export async function startDemoApp(opts: DemoAppOptions = {}): Promise<DemoApp> {
  let lastRequest: DemoRequestRecord | undefined;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, _res, next) => {
    lastRequest = { method: req.method, url: req.originalUrl, headers: { ...req.headers } };
    next();
  });

  app.get('/', (req, res) => sendHtml(res, 200, landing(identityOf(req))));

  app.get('/me', async (req, res) => {
    const id = identityOf(req);
    // The page shows without them when the directory API cannot be read.
    const subs = id.user && id.tenant && opts.subscriptions ? await opts.subscriptions(id.tenant).catch(() => []) : [];
    sendHtml(res, id.user ? 200 : 401, mePage(id, subs));
  });

  // The note is not kept: the form is there to show what a post does once the session has ended.
  app.post('/me/note', (req, res) => {
    if (!identityOf(req).user) return void sendHtml(res, 401, mePage(identityOf(req)));
    res.redirect(303, '/me?saved=1');
  });

  app.get('/api/whoami', (req, res) => {
    res.set('Cache-Control', 'no-store').json(identityOf(req));
  });

  // No body parser anywhere: the body is hashed as it streams, so large uploads test the proxy's streaming.
  app.all('/api/echo', (req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      res.set('Cache-Control', 'no-store').json({
        method: req.method,
        url: req.originalUrl,
        headers: req.headers,
        body: { length, sha256: hash.digest('hex') },
      });
    });
    req.on('error', () => {
      if (!res.headersSent) res.status(400).json({ error: 'request_aborted' });
    });
  });

  app.use((req, res) => {
    if (req.path.startsWith('/api/')) {
      res.status(404).json({ error: 'not_found', path: req.path });
      return;
    }
    sendHtml(
      res,
      404,
      page('404', `<h1>页面不存在 <span class="en">Not found</span></h1><p><a href="/">返回首页 / Back to home</a></p>`),
    );
  });

  const served = await serve(app, opts.host ?? '127.0.0.1', opts.port ?? 0);
  return {
    url: served.url,
    get lastRequest() {
      return lastRequest;
    },
    close: () => served.close(),
  };
}
