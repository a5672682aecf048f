import type { Request } from 'express';
import Negotiator from 'negotiator';
import type { ErrorCode } from '../core/errors';

export type Lang = 'zh' | 'en';

const LANGS: readonly Lang[] = ['zh', 'en'];

/**
 * Chinese or English by Accept-Language, q-values honoured (`en;q=0.1, zh-CN;q=0.9` is Chinese); Chinese
 * when the header is absent or names neither (the marketplace's users are mostly Chinese-speaking).
 */
export function pickLang(req: Pick<Request, 'headers'>): Lang {
  const header = req.headers['accept-language'];
  if (typeof header !== 'string' || header.length > 1024) return 'zh';
  const best = new Negotiator({ headers: { 'accept-language': header } }).language([...LANGS]);
  return best === 'en' ? 'en' : 'zh';
}

interface Text {
  title: string;
  message: string;
}

export const ERROR_TEXT: Record<ErrorCode, Record<Lang, Text>> = {
  KOOGATE_TENANT_UNKNOWN: {
    en: { title: 'Organisation not set up', message: 'Your organisation is not set up to use this application yet. Ask your administrator to bind it in KooGallery, then try again.' },
    zh: { title: '企业尚未开通', message: '您所在的企业尚未开通此应用。请联系企业管理员在云商店完成绑定后重试。' },
  },
  KOOGATE_APP_CREDENTIALS_MISSING: {
    en: { title: 'Application not set up', message: 'This application has no sign-in credentials for your organisation yet. Ask your administrator, then try again.' },
    zh: { title: '应用尚未配置', message: '此应用尚未收到您所在企业的登录凭证。请联系企业管理员后重试。' },
  },
  KOOGATE_CALLBACK_INVALID: {
    en: { title: 'Sign-in could not be completed', message: 'The sign-in answer was incomplete. Please sign in again.' },
    zh: { title: '登录未完成', message: '登录返回的信息不完整，请重新登录。' },
  },
  KOOGATE_GRANT_INVALID: {
    en: { title: 'Sign-in expired', message: 'The sign-in has expired or was already used. Please sign in again.' },
    zh: { title: '登录已失效', message: '登录凭证已过期或已被使用，请重新登录。' },
  },
  KOOGATE_CLIENT_REJECTED: {
    en: { title: 'Sign-in refused by the marketplace', message: 'The marketplace did not accept this application’s credentials. The operator has been told; please try again later.' },
    zh: { title: '云商店拒绝了登录请求', message: '云商店未接受此应用的凭证。请稍后重试，或联系应用运营方。' },
  },
  KOOGATE_MARKETPLACE_UNAVAILABLE: {
    en: { title: 'Marketplace unavailable', message: 'The marketplace could not be reached. Please try again in a moment.' },
    zh: { title: '云商店暂时无法访问', message: '暂时无法连接云商店，请稍后重试。' },
  },
  KOOGATE_USERINFO_INVALID: {
    en: { title: 'User information unavailable', message: 'The marketplace returned no usable user information. Please sign in again.' },
    zh: { title: '无法获取用户信息', message: '云商店未返回可用的用户信息，请重新登录。' },
  },
  KOOGATE_USER_UNSUPPORTED: {
    en: {
      title: 'Account cannot be used here',
      message: 'Your marketplace account holds a value this application cannot receive (a name or e-mail address that is too long, or not valid text). Ask your administrator to correct it in KooGallery, then sign in again.',
    },
    zh: { title: '账号无法用于此应用', message: '您的云商店账号中有此应用无法接收的信息（名称或邮箱过长，或不是有效文本）。请联系企业管理员在云商店中修正后重新登录。' },
  },
  KOOGATE_SESSION_EXPIRED: {
    en: { title: 'Session ended', message: 'Your session has ended. Please sign in again.' },
    zh: { title: '会话已结束', message: '您的会话已结束，请重新登录。' },
  },
  KOOGATE_STORE_UNAVAILABLE: {
    en: { title: 'Temporarily unavailable', message: 'The service is temporarily unavailable. Please try again in a moment.' },
    zh: { title: '服务暂时不可用', message: '服务暂时不可用，请稍后重试。' },
  },
  KOOGATE_UPSTREAM_UNAVAILABLE: {
    en: { title: 'Application unavailable', message: 'The application is not answering right now. Please try again in a moment.' },
    zh: { title: '应用暂时无法访问', message: '应用暂时没有响应，请稍后重试。' },
  },
  KOOGATE_UPSTREAM_TIMEOUT: {
    en: { title: 'Application too slow', message: 'The application did not answer in time. Please try again in a moment.' },
    zh: { title: '应用响应超时', message: '应用未能及时响应，请稍后重试。' },
  },
  KOOGATE_USER_NOT_AUTHORIZED: {
    en: { title: 'No access to this application', message: 'Your account has not been given access to this application, or its access was withdrawn. Ask your organisation’s administrator to authorize you in KooGallery, then sign in again.' },
    zh: { title: '您没有此应用的使用权限', message: '您的账号尚未获得此应用的使用授权，或授权已被取消。请联系企业管理员在云商店为您授权后重新登录。' },
  },
  KOOGATE_SUBSCRIPTION_INACTIVE: {
    en: { title: 'Subscription frozen or ended', message: 'Your organisation’s subscription to this application is frozen or has ended, so no one of it can sign in. Ask your organisation’s administrator to renew or restore the subscription in Huawei Cloud KooGallery, or contact the application’s provider.' },
    zh: { title: '订阅已冻结或已到期', message: '您所在企业对此应用的订阅已被冻结或已结束，暂时无法登录。请联系企业管理员在华为云云商店续费或恢复订阅，或联系应用服务商。' },
  },
  KOOGATE_API_UNAUTHORIZED: {
    en: { title: 'Not authorized', message: 'A valid bearer token is required.' },
    zh: { title: '未授权', message: '需要有效的访问令牌。' },
  },
  KOOGATE_BAD_REQUEST: {
    en: { title: 'Bad request', message: 'The request is not valid.' },
    zh: { title: '请求无效', message: '请求参数无效。' },
  },
  KOOGATE_NOT_FOUND: {
    en: { title: 'Not found', message: 'There is no such page.' },
    zh: { title: '页面不存在', message: '您访问的页面不存在。' },
  },
  KOOGATE_FORBIDDEN: {
    en: { title: 'Not allowed', message: 'This request is not allowed.' },
    zh: { title: '操作不被允许', message: '此请求不被允许。' },
  },
  KOOGATE_ENCRYPTION_KEY_MISSING: {
    en: { title: 'Service being configured', message: 'This service is being configured. Please try again later; if this persists, tell the operator the code below.' },
    zh: { title: '服务正在配置中', message: '此服务正在配置中，请稍后重试；如持续出现，请将下方错误码告知运营方。' },
  },
  KOOGATE_RATE_LIMITED: {
    en: { title: 'Too many requests', message: 'There were too many requests from your network in a short time. Please wait a moment, then try again.' },
    zh: { title: '请求过于频繁', message: '您所在网络在短时间内发出的请求过多，请稍候再试。' },
  },
  KOOGATE_INTERNAL: {
    en: { title: 'Something went wrong', message: 'An unexpected error occurred. Please try again.' },
    zh: { title: '出现错误', message: '发生了意外错误，请重试。' },
  },
};

export const UI_TEXT: Record<Lang, Record<string, string>> = {
  en: {
    signIn: 'Sign in again',
    home: 'Back to the application',
    codeLabel: 'Error code',
    requestIdLabel: 'Request',
    logoutTitle: 'Sign out?',
    logoutMessage: 'You will be signed out of this application and of the marketplace.',
    logoutConfirm: 'Sign out',
    logoutEverywhere: 'Sign out on all devices',
    logoutEverywhereHint: '“Sign out on all devices” also ends your sessions in other browsers and on other devices.',
    cancel: 'Cancel',
    loggedOutTitle: 'You are signed out',
    loggedOutMessage: 'Your session has ended here and at the marketplace.',
    signedInAs: 'Signed in as',
    otherAccount: 'Sign in with another account',
    tryAgain: 'Try again',
    tenantIdLabel: 'Organisation id',
    adminNoteTenant: 'For your organisation’s administrator: KooGallery has not yet told this application about your organisation (tenantSync). Finish binding the application in KooGallery, or ask the application’s provider, then try again.',
    adminNoteCredentials: 'For your organisation’s administrator: KooGallery has not yet sent this application the sign-in credentials for your organisation (applicationSync). Finish binding the application in KooGallery, or ask the application’s provider, then try again.',
  },
  zh: {
    signIn: '重新登录',
    home: '返回应用',
    codeLabel: '错误码',
    requestIdLabel: '请求',
    logoutTitle: '确认退出登录？',
    logoutMessage: '您将退出此应用以及云商店的登录。',
    logoutConfirm: '退出登录',
    logoutEverywhere: '在所有设备上退出',
    logoutEverywhereHint: '“在所有设备上退出”会同时结束您在其他浏览器和设备上的会话。',
    cancel: '取消',
    loggedOutTitle: '您已退出登录',
    loggedOutMessage: '您在此应用和云商店的会话均已结束。',
    signedInAs: '当前登录账号',
    otherAccount: '使用其他账号登录',
    tryAgain: '重试',
    tenantIdLabel: '企业 ID',
    adminNoteTenant: '致企业管理员：云商店尚未向此应用同步您所在企业的信息（tenantSync）。请在云商店完成应用绑定，或联系应用服务商，然后重试。',
    adminNoteCredentials: '致企业管理员：云商店尚未向此应用下发您所在企业的登录凭证（applicationSync）。请在云商店完成应用绑定，或联系应用服务商，然后重试。',
  },
};
