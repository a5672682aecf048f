import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Request } from 'express';
import { TransactionCookie, TX_COOKIE } from '../../../src/auth/transaction';

const OLD = 'old-secret-0123456789abcdef0123456789';
const NEW = 'new-secret-abcdef0123456789abcdef0123';
const T0 = 1_700_000_000_000;
const TTL = 10 * 60 * 1000;

/**
 * start() writes through express' res.cookie (its encoding is part of the contract), so a tiny real
 * express server issues the cookie; read() is given the Cookie header a browser would send back.
 */
let server: Server;
let base: string;
let issuer: TransactionCookie;

beforeAll(async () => {
  const app = express();
  app.get('/start', (req, res) => {
    issuer.start(res, { returnTo: String(req.query.returnTo ?? '/'), ...(req.query.bounced ? { bounced: true } : {}) });
    res.end('ok');
  });
  app.get('/clear', (_req, res) => {
    issuer.clear(res);
    res.end('ok');
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((ok) => server.once('listening', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
});

async function issue(tx: TransactionCookie, returnTo = '/me?tab=1', bounced = false): Promise<{ setCookie: string; value: string }> {
  issuer = tx;
  const res = await fetch(`${base}/start?returnTo=${encodeURIComponent(returnTo)}${bounced ? '&bounced=1' : ''}`);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${TX_COOKIE}=`));
  expect(setCookie).toBeDefined();
  // What the browser stores and sends back: the raw (still URL-encoded) value.
  const value = setCookie!.slice(TX_COOKIE.length + 1).split(';')[0]!;
  return { setCookie: setCookie!, value };
}

const reqWith = (cookie: string | undefined) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;
const read = (tx: TransactionCookie, value: string) => tx.read(reqWith(`other=1; ${TX_COOKIE}=${value}; more=2`));

/** payload.signature, decoded from the cookie value. */
function parts(value: string): { payload: string; sig: string } {
  const [payload = '', sig = ''] = decodeURIComponent(value).split('.');
  return { payload, sig };
}
const macWith = (secret: string, payload: string) => createHmac('sha256', secret).update(`koogate-login-tx.${payload}`).digest('base64url');

describe('TransactionCookie', () => {
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    now = T0;
  });

  test('a cookie it issued reads back as the transaction, with createdAt from the injected clock', async () => {
    const tx = new TransactionCookie([OLD], true, clock);
    const { value } = await issue(tx, '/reports?id=7#x');
    now = T0 + 1000;
    const got = read(tx, value);
    expect(got).toMatchObject({ returnTo: '/reports?id=7#x', createdAt: T0 });
    expect(got!.bounced).toBeUndefined();
  });

  test('the bounced flag survives the round trip', async () => {
    const tx = new TransactionCookie([OLD], true, clock);
    const { value } = await issue(tx, '/', true);
    expect(read(tx, value)).toMatchObject({ returnTo: '/', bounced: true });
  });

  test('cookie attributes: HttpOnly, SameSite=Lax, koogate path only, 10 minutes, Secure when asked', async () => {
    const secure = await issue(new TransactionCookie([OLD], true, clock));
    expect(secure.setCookie).toMatch(/;\s*HttpOnly/i);
    expect(secure.setCookie).toMatch(/;\s*SameSite=Lax/i);
    expect(secure.setCookie).toMatch(/;\s*Path=\/_koogate\//);
    expect(secure.setCookie).toMatch(/;\s*Max-Age=600\b/);
    expect(secure.setCookie).toMatch(/;\s*Secure/i);
    const plain = await issue(new TransactionCookie([OLD], false, clock));
    expect(plain.setCookie).not.toMatch(/;\s*Secure/i);
  });

  test('two transactions started at the same instant differ (a nonce is inside)', async () => {
    const tx = new TransactionCookie([OLD], true, clock);
    const a = await issue(tx, '/same');
    const b = await issue(tx, '/same');
    expect(a.value).not.toBe(b.value);
  });

  test('clear() expires the cookie on the same path', async () => {
    issuer = new TransactionCookie([OLD], true, clock);
    const res = await fetch(`${base}/clear`);
    const sc = res.headers.getSetCookie().find((c) => c.startsWith(`${TX_COOKIE}=`));
    expect(sc).toMatch(/Path=\/_koogate\//);
    expect(sc).toMatch(/Expires=Thu, 01 Jan 1970/);
  });

  describe('read() refuses', () => {
    test('no cookie header, no transaction cookie, an empty value, a value without a signature', () => {
      const tx = new TransactionCookie([OLD], true, clock);
      expect(tx.read(reqWith(undefined))).toBeNull();
      expect(tx.read(reqWith('koogate.sid=abc'))).toBeNull();
      expect(tx.read(reqWith(`${TX_COOKIE}=`))).toBeNull();
      expect(tx.read(reqWith(`${TX_COOKIE}=eyJyZXR1cm5UbyI6Ii8ifQ`))).toBeNull();
      expect(tx.read(reqWith(`${TX_COOKIE}=.abc`))).toBeNull();
    });

    test('a cookie signed with a secret it does not hold', async () => {
      const { value } = await issue(new TransactionCookie(['someone-elses-secret-0123456789abcd'], true, clock));
      expect(read(new TransactionCookie([OLD], true, clock), value)).toBeNull();
    });

    test('a wrong signature: one character changed, truncated, empty, of another payload', async () => {
      const tx = new TransactionCookie([OLD], true, clock);
      const { value } = await issue(tx);
      const { payload, sig } = parts(value);
      expect(read(tx, value)).not.toBeNull();
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      expect(read(tx, `${payload}.${flipped}`)).toBeNull();
      expect(read(tx, `${payload}.${sig.slice(0, -2)}`)).toBeNull();
      expect(read(tx, `${payload}.`)).toBeNull();
      const other = parts((await issue(tx, '/other')).value);
      expect(read(tx, `${payload}.${other.sig}`)).toBeNull();
    });

    test('a tampered payload keeping the old signature (returnTo switched to another origin)', async () => {
      const tx = new TransactionCookie([OLD], true, clock);
      const { value } = await issue(tx, '/me');
      const { payload, sig } = parts(value);
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(decoded.returnTo).toBe('/me');
      const evil = Buffer.from(JSON.stringify({ ...decoded, returnTo: '//evil.example' })).toString('base64url');
      expect(read(tx, `${evil}.${sig}`)).toBeNull();
      const younger = Buffer.from(JSON.stringify({ ...decoded, createdAt: T0 + TTL })).toString('base64url');
      expect(read(tx, `${younger}.${sig}`)).toBeNull();
    });

    test('an expired transaction: accepted up to 10 minutes, refused one millisecond later', async () => {
      const tx = new TransactionCookie([OLD], true, clock);
      const { value } = await issue(tx);
      now = T0 + TTL;
      expect(read(tx, value)).not.toBeNull();
      now = T0 + TTL + 1;
      expect(read(tx, value)).toBeNull();
      now = T0 + 24 * 3600_000;
      expect(read(tx, value)).toBeNull();
    });

    test('a correctly signed payload that is not a valid transaction', () => {
      const tx = new TransactionCookie([OLD], true, clock);
      const signed = (obj: unknown) => {
        const payload = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)).toString('base64url');
        return `${payload}.${macWith(OLD, payload)}`;
      };
      // Control: the same construction with a valid body is accepted, so the refusals below are about content.
      expect(read(tx, signed({ returnTo: '/', createdAt: T0 }))).toMatchObject({ returnTo: '/' });
      expect(read(tx, signed('not json'))).toBeNull();
      expect(read(tx, signed({ returnTo: '/' }))).toBeNull();
      expect(read(tx, signed({ returnTo: '/', createdAt: String(T0) }))).toBeNull();
      expect(read(tx, signed({ returnTo: 42, createdAt: T0 }))).toBeNull();
      expect(read(tx, signed({ createdAt: T0 }))).toBeNull();
      expect(read(tx, signed(null))).toBeNull();
    });
  });

  describe('secret rotation', () => {
    test('a cookie signed with the older secret is accepted after rotation (new first, old still listed)', async () => {
      const { value } = await issue(new TransactionCookie([OLD], true, clock));
      expect(read(new TransactionCookie([NEW, OLD], true, clock), value)).toMatchObject({ returnTo: '/me?tab=1' });
    });

    test('after rotation new cookies are signed with the new secret only', async () => {
      const { value } = await issue(new TransactionCookie([NEW, OLD], true, clock));
      expect(read(new TransactionCookie([NEW], true, clock), value)).not.toBeNull();
      expect(read(new TransactionCookie([OLD], true, clock), value)).toBeNull();
    });

    test('once the old secret is dropped, its cookies are refused', async () => {
      const { value } = await issue(new TransactionCookie([OLD], true, clock));
      expect(read(new TransactionCookie([NEW], true, clock), value)).toBeNull();
    });

    test('rotation does not extend the lifetime of an old cookie', async () => {
      const { value } = await issue(new TransactionCookie([OLD], true, clock));
      now = T0 + TTL + 1;
      expect(read(new TransactionCookie([NEW, OLD], true, clock), value)).toBeNull();
    });
  });
});
