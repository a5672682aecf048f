import { createHmac, timingSafeEqual } from 'node:crypto';
import { readCookie } from '../core/cookies';

/**
 * The session cookie in express-session's format (`s:<sid>.<base64 HMAC-SHA256>`), read and written
 * without express on the proxied path. Verified values are remembered, so the HMAC runs once per cookie.
 */
export class SessionCookie {
  private readonly verified = new Map<string, string>();
  private static readonly MAX_REMEMBERED = 50_000;

  constructor(
    readonly name: string,
    private readonly secrets: readonly string[],
    private readonly opts: { secure: boolean },
  ) {}

  private mac(value: string, secret: string): string {
    return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
  }

  /** The session id of a correctly signed cookie, or null. */
  sid(cookieHeader: string | undefined): string | null {
    const raw = readCookie(cookieHeader, this.name);
    if (!raw) return null;
    const known = this.verified.get(raw);
    if (known !== undefined) return known;
    if (!raw.startsWith('s:')) return null;
    const dot = raw.lastIndexOf('.');
    if (dot < 3) return null;
    const sid = raw.slice(2, dot);
    const given = Buffer.from(raw.slice(dot + 1));
    const ok = this.secrets.some((s) => {
      const want = Buffer.from(this.mac(sid, s));
      return want.length === given.length && timingSafeEqual(want, given);
    });
    if (!ok) return null;
    if (this.verified.size >= SessionCookie.MAX_REMEMBERED) this.verified.clear();
    this.verified.set(raw, sid);
    return sid;
  }

  /** A Set-Cookie value carrying `sid` for `maxAgeMs`, with the attributes express-session gives it. */
  serialize(sid: string, maxAgeMs: number, now: number = Date.now()): string {
    const value = encodeURIComponent(`s:${sid}.${this.mac(sid, this.secrets[0]!)}`);
    const expires = new Date(now + maxAgeMs).toUTCString();
    return `${this.name}=${value}; Path=/; Expires=${expires}; HttpOnly${this.opts.secure ? '; Secure' : ''}; SameSite=Lax`;
  }

  /** A Set-Cookie value that removes the cookie. */
  clear(): string {
    return `${this.name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly${this.opts.secure ? '; Secure' : ''}; SameSite=Lax`;
  }
}
