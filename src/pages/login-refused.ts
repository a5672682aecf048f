import type { Request, Response } from 'express';
import { HTTP_STATUS } from '../core/errors';
import { ERROR_TEXT, pickLang, UI_TEXT } from './messages';
import type { Views } from './views';
import type { MarketplaceUser } from '../core/identity';

export interface LoginRefusal {
  user: MarketplaceUser;
  tenantName: string;
  /** The marketplace logout, back to koogate's logged-out page: the way to sign in as somebody else. */
  otherAccountUrl: string;
}

const CODE = 'KOOGATE_USER_NOT_AUTHORIZED';

/**
 * The page of a login the directory refuses (KOOGATE_USER_NOT_AUTHORIZED). Unlike the generic error page
 * it names the account the marketplace signed in, and offers to sign in with another one: "sign in again"
 * would only come back with the same account while the marketplace session lasts.
 */
export function sendLoginRefused(req: Request, res: Response, views: Views, r: LoginRefusal): void {
  const lang = pickLang(req);
  const text = ERROR_TEXT[CODE][lang];
  const ui = UI_TEXT[lang];
  res.status(HTTP_STATUS[CODE]);
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(
    views.render('login-refused', {
      lang: lang === 'zh' ? 'zh-CN' : 'en',
      title: text.title,
      message: text.message,
      signedInAsLabel: ui.signedInAs,
      displayName: r.user.name || r.user.userName,
      userName: r.user.userName,
      tenantName: r.tenantName,
      actionHref: r.otherAccountUrl,
      actionLabel: ui.otherAccount,
      code: CODE,
      codeLabel: ui.codeLabel,
    }),
  );
}
