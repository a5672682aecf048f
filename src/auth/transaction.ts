import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { readCookie } from '../core/cookies';

/**
 * The unified login carries no `state`, so the login transaction lives in a short-lived, HttpOnly,
 * HMAC-signed cookie scoped to koogate's own path: a callback is accepted only in the browser that
 * started (or was bounced into) a login.
 */
export const TX_COOKIE = 'koogate.tx';
const TX_PATH = '/_koogate/';
const TX_TTL_MS = 10 * 60 * 1000;

export interface LoginTransaction {
  returnTo: string;
  createdAt: number;
  /** Set when the callback arrived without a transaction and koogate sent the browser back to login. */
  bounced?: boolean;
}

export class TransactionCookie {
  constructor(
    private readonly secrets: string[],
    private readonly secure: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(data: string, secret: string): Buffer {
    return createHmac('sha256', secret).update(`koogate-login-tx.${data}`).digest();
  }

  start(res: Response, tx: Omit<LoginTransaction, 'createdAt'>): void {
    const payload = Buffer.from(JSON.stringify({ ...tx, createdAt: this.now(), n: randomBytes(8).toString('hex') })).toString('base64url');
    const value = `${payload}.${this.mac(payload, this.secrets[0]!).toString('base64url')}`;
    res.cookie(TX_COOKIE, value, { httpOnly: true, secure: this.secure, sameSite: 'lax', path: TX_PATH, maxAge: TX_TTL_MS });
  }

  /** The valid, unexpired transaction of this browser, or null. */
  read(req: Request): LoginTransaction | null {
    const raw = readCookie(req.headers.cookie, TX_COOKIE);
    if (!raw) return null;
    const [payload, sig] = raw.split('.');
    if (!payload || !sig) return null;
    const given = Buffer.from(sig, 'base64url');
    const ok = this.secrets.some((s) => {
      const want = this.mac(payload, s);
      return want.length === given.length && timingSafeEqual(want, given);
    });
    if (!ok) return null;
    try {
      const tx = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LoginTransaction;
      if (typeof tx.createdAt !== 'number' || this.now() - tx.createdAt > TX_TTL_MS || typeof tx.returnTo !== 'string') return null;
      return tx;
    } catch {
      return null;
    }
  }

  clear(res: Response): void {
    res.clearCookie(TX_COOKIE, { httpOnly: true, secure: this.secure, sameSite: 'lax', path: TX_PATH });
  }
}
