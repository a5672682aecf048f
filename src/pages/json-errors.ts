import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../observability/logger';
import { sendApiError, toKoogateError } from './respond';
import { requestFields } from '../observability/requests';

/**
 * The error answer of koogate's JSON APIs (directory, admin): the stable code and a message; a bad
 * parameter names itself. 404s are not logged: they are what a prober sees of an API that is off.
 */
export function jsonErrors(log: Logger, what: string): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toKoogateError(err);
    const { requestId } = requestFields(req);
    if (e.status >= 500) log.error(`${what} failed`, { requestId, errorCode: e.code, path: req.path, ...e.detail });
    else if (e.code !== 'KOOGATE_NOT_FOUND') log.info(`${what} refused`, { requestId, errorCode: e.code, path: req.path, ...e.detail });
    if (res.headersSent) return void res.end();
    sendApiError(res, e, requestId);
  };
}
