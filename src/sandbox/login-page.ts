/**
 * HTML of the sandbox marketplace's pages: the unified login page and its error page.
 *
 * Like the real KooGallery unified login, the page takes its parameters from the URL *fragment*
 * (`#/portal-login?ind=UNOP&appId=…`), which never reaches the server. So the server renders everything
 * the page might need (registered app ids, tenants and their users, the live marketplace session) into a
 * JSON island, and the page's script reads `location.hash` and decides. No external resources; the
 * inline style and script carry a CSP nonce.
 */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { escapeHtml, pageShell, sendPage } from './page-shell';
import { sharedStyle } from '../pages/views';

export interface LoginPageUser {
  userName: string;
  name: string;
  role: 'admin' | 'user';
}

export interface LoginPageTenant {
  tenantId: string;
  name: string;
  users: LoginPageUser[];
}

export interface LoginPageData {
  /** Registered app ids: the page refuses any other appId, as the real one does. */
  apps: string[];
  tenants: LoginPageTenant[];
  /** The browser's live marketplace session, if any: the page then continues at once. */
  session?: { tenantId: string; tenantName: string; userName: string; name: string };
  /** Where the form posts and where a live session continues (absolute paths on the sandbox). */
  authorizePath: string;
  continuePath: string;
}

/** JSON safe to embed in a `<script type="application/json">` element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** koogate's own style sheet first (font stack, colours, buttons), then what this page adds. */
const STYLE = `${sharedStyle()}
  :root { color-scheme: light; --accent: #c7000b; --ink: #1f2329; --muted: #646a73; --line: #dee0e3; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
    background: #f2f3f5; color: var(--ink); }
  main { width: 100%; max-width: 400px; margin: 24px; padding: 32px 32px 24px; background: #fff;
    border-radius: 8px; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  .brand { font-size: 13px; color: var(--accent); font-weight: 600; letter-spacing: .04em; }
  h1 { margin: 6px 0 2px; font-size: 22px; }
  .en { display: block; color: var(--muted); font-size: 12px; font-weight: normal; margin-top: 2px; }
  h1 .en { font-size: 14px; }
  label { display: block; margin: 18px 0 6px; font-size: 14px; font-weight: 600; }
  select { width: 100%; padding: 8px 10px; font-size: 15px; border: 1px solid var(--line); border-radius: 4px;
    background: #fff; color: inherit; }
  button { width: 100%; margin-top: 24px; padding: 10px; font-size: 16px; border: 0; border-radius: 4px;
    background: var(--accent); color: #fff; cursor: pointer; }
  button:hover { filter: brightness(1.08); }
  .message { margin-top: 18px; padding: 12px 14px; border-radius: 4px; background: #fff4f4;
    border: 1px solid #ffd2d2; font-size: 14px; }
  .message.info { background: #f0f6ff; border-color: #cfe1ff; }
  .app { margin-top: 8px; color: var(--muted); font-size: 13px; word-break: break-all; }
  footer { margin-top: 28px; color: var(--muted); font-size: 12px; text-align: center; }
  [hidden] { display: none !important; }
`;

/** The page script. Plain ES2017 so any browser runs it; it only reads the JSON island and the hash. */
const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('kg-data').textContent);
  var form = document.getElementById('login-form');
  var tenantSelect = document.getElementById('tenant');
  var userSelect = document.getElementById('user');
  var appInput = document.getElementById('app-id');
  var appLine = document.getElementById('app-line');
  var message = document.getElementById('message');

  function show(kind, zh, en) {
    message.hidden = false;
    message.className = 'message' + (kind === 'info' ? ' info' : '');
    message.setAttribute('data-kind', kind);
    message.textContent = '';
    var a = document.createElement('div'); a.textContent = zh;
    var b = document.createElement('div'); b.className = 'en'; b.textContent = en;
    message.appendChild(a); message.appendChild(b);
  }

  // "#/portal-login?ind=UNOP&appId=..." -> { route, params }
  function readHash() {
    var hash = location.hash.replace(/^#/, '');
    var q = hash.indexOf('?');
    return {
      route: q < 0 ? hash : hash.slice(0, q),
      params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1))
    };
  }

  function fillUsers() {
    var tenant = data.tenants.filter(function (t) { return t.tenantId === tenantSelect.value; })[0];
    userSelect.textContent = '';
    (tenant ? tenant.users : []).forEach(function (u) {
      var o = document.createElement('option');
      o.value = u.userName;
      o.textContent = u.name + ' (' + u.userName + ')' + (u.role === 'admin' ? ' · 管理员 admin' : '');
      userSelect.appendChild(o);
    });
  }

  function start() {
    form.hidden = true;
    message.hidden = true;
    var h = readHash();
    var appId = h.params.get('appId') || '';
    if (h.route !== '/portal-login' || h.params.get('ind') !== 'UNOP') {
      show('error', '登录链接无效：缺少 #/portal-login?ind=UNOP 参数。',
        'Invalid login link: the fragment must be #/portal-login?ind=UNOP&appId=...');
      return;
    }
    if (!appId) {
      show('error', '登录链接无效：缺少 appId。', 'Invalid login link: appId is missing.');
      return;
    }
    if (data.apps.indexOf(appId) < 0) {
      show('error', '应用未注册：' + appId, 'Unknown application: ' + appId + ' is not registered with this marketplace.');
      return;
    }
    appInput.value = appId;
    appLine.textContent = '应用 App: ' + appId;
    // A live marketplace session returns to the app at once, as the real unified login does.
    // "prompt=login" in the fragment (sandbox only) shows the form anyway.
    if (data.session && h.params.get('prompt') !== 'login') {
      show('info', '已登录为 ' + data.session.name + '（' + data.session.tenantName + '），正在返回应用…',
        'Signed in as ' + data.session.userName + ' - returning to the app...');
      location.replace(data.continuePath + '?appId=' + encodeURIComponent(appId));
      return;
    }
    form.hidden = false;
  }

  data.tenants.forEach(function (t) {
    var o = document.createElement('option');
    o.value = t.tenantId;
    o.textContent = t.name;
    tenantSelect.appendChild(o);
  });
  tenantSelect.addEventListener('change', fillUsers);
  fillUsers();
  window.addEventListener('hashchange', start);
  start();
})();
`;

/** The stand-in's pages: its style (allowed by the CSP nonce), its brand line, then `main`. */
export function sandboxPage(title: string, nonce: string, main: string, after = ''): string {
  return pageShell({
    title,
    style: STYLE,
    nonce,
    body: `<main>
  <div class="brand">华为云云商店 · KooGallery sandbox</div>
${main}
</main>
${after}`,
  });
}

/** Sends a stand-in page: `render` gets the nonce its inline style and script carry. */
export function sendMarketplacePage(res: Response, status: number, render: (nonce: string) => string): void {
  const nonce = randomBytes(16).toString('base64');
  // No form-action: Chromium applies it to the redirect after the post, which leaves this origin.
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`;
  sendPage(res, status, render(nonce), csp, { 'Referrer-Policy': 'no-referrer' });
}

export function sendMarketplaceError(res: Response, status: number, zh: string, en: string): void {
  sendMarketplacePage(res, status, (nonce) => renderErrorPage(status, zh, en, nonce));
}

export function renderLoginPage(data: LoginPageData, nonce: string): string {
  return sandboxPage(
    '统一登录 · Unified login (sandbox)',
    nonce,
    `  <h1>统一身份登录<span class="en">Unified login</span></h1>
  <div class="app" id="app-line"></div>
  <noscript><div class="message">请启用 JavaScript。<span class="en">This page needs JavaScript.</span></div></noscript>
  <div id="message" class="message" role="alert" hidden></div>
  <form id="login-form" method="post" action="${escapeHtml(data.authorizePath)}" hidden>
    <input type="hidden" name="appId" id="app-id" value="">
    <label for="tenant">企业 <span class="en">Tenant (buyer enterprise)</span></label>
    <select id="tenant" name="tenantId" data-testid="tenant"></select>
    <label for="user">用户 <span class="en">User</span></label>
    <select id="user" name="userName" data-testid="user"></select>
    <button type="submit" id="login-submit" data-testid="login-submit">登录 / Log in</button>
  </form>
  <footer>本页面为本地模拟，不连接华为云。<span class="en">Local stand-in; nothing here talks to Huawei Cloud.</span></footer>`,
    `<script type="application/json" id="kg-data">${jsonForScript(data)}</script>
<script nonce="${escapeHtml(nonce)}">${SCRIPT}</script>
`,
  );
}

export function renderErrorPage(status: number, zh: string, en: string, nonce: string): string {
  return sandboxPage(
    `错误 · Error ${status}`,
    nonce,
    `  <h1>无法登录<span class="en">Login failed (${status})</span></h1>
  <div class="message" id="message" role="alert" data-kind="error"><div>${escapeHtml(zh)}</div><div class="en">${escapeHtml(en)}</div></div>`,
  );
}
