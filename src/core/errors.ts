/**
 * Errors koogate shows or answers carry a stable code. pages/respond.ts turns them into answers.
 * The message is safe to show a user; `detail` is for the operator's log and never rendered.
 */
export type ErrorCode =
  | 'KOOGATE_TENANT_UNKNOWN'
  | 'KOOGATE_APP_CREDENTIALS_MISSING'
  | 'KOOGATE_CALLBACK_INVALID'
  | 'KOOGATE_GRANT_INVALID'
  | 'KOOGATE_CLIENT_REJECTED'
  | 'KOOGATE_MARKETPLACE_UNAVAILABLE'
  | 'KOOGATE_USERINFO_INVALID'
  | 'KOOGATE_SESSION_EXPIRED'
  | 'KOOGATE_STORE_UNAVAILABLE'
  | 'KOOGATE_UPSTREAM_UNAVAILABLE'
  | 'KOOGATE_UPSTREAM_TIMEOUT'
  | 'KOOGATE_USER_NOT_AUTHORIZED'
  | 'KOOGATE_API_UNAUTHORIZED'
  | 'KOOGATE_BAD_REQUEST'
  | 'KOOGATE_NOT_FOUND'
  | 'KOOGATE_FORBIDDEN'
  | 'KOOGATE_INTERNAL';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  KOOGATE_TENANT_UNKNOWN: 403,
  KOOGATE_APP_CREDENTIALS_MISSING: 403,
  KOOGATE_CALLBACK_INVALID: 400,
  KOOGATE_GRANT_INVALID: 401,
  KOOGATE_CLIENT_REJECTED: 502,
  KOOGATE_MARKETPLACE_UNAVAILABLE: 503,
  KOOGATE_USERINFO_INVALID: 502,
  KOOGATE_SESSION_EXPIRED: 401,
  KOOGATE_STORE_UNAVAILABLE: 503,
  KOOGATE_UPSTREAM_UNAVAILABLE: 502,
  KOOGATE_UPSTREAM_TIMEOUT: 504,
  KOOGATE_USER_NOT_AUTHORIZED: 403,
  KOOGATE_API_UNAUTHORIZED: 401,
  KOOGATE_BAD_REQUEST: 400,
  KOOGATE_NOT_FOUND: 404,
  KOOGATE_FORBIDDEN: 403,
  KOOGATE_INTERNAL: 500,
};

export class KoogateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'KoogateError';
  }
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}
