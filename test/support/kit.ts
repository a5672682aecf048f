import { randomBytes, type KeyObject } from 'node:crypto';
import Redis from 'ioredis';
import { signKitV2, v1AuthToken } from '../../src/crypto/kit-signature';
import type { Directory } from '../../src/directory/directory';
import { buildKitRequest, checkBodySign, kitTimeStamp, type KitInterface, type KitRequest, type KitRequestOptions } from '../../src/kit/client';
import { DEMO_APP_ID } from '../../src/sandbox/stack';

/** Shared by the kit-*.test.ts and access-*.test.ts files: real HTTP, signed as KooGallery signs. */

export interface Answer {
  status: number;
  resultCode?: string;
  resultMsg?: string;
  /** The raw answer text. */
  text: string;
  contentType: string;
  /** Only meaningful for V1 calls. */
  bodySign: 'valid' | 'invalid' | 'missing';
}

export type Generation = 'v1' | 'v2';

export interface KitTarget {
  baseUrl: string;
  accessKey: string;
  publicKey?: KeyObject;
}

/** Posts a built request as is and reads the answer as bytes (Body-Sign covers the exact bytes). */
export async function post(req: KitRequest, accessKey: string): Promise<Answer> {
  const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(10_000) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let parsed: { resultCode?: string; resultMsg?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    /* asserted through resultCode */
  }
  return {
    status: res.status,
    resultCode: parsed.resultCode,
    resultMsg: parsed.resultMsg,
    text,
    contentType: res.headers.get('content-type') ?? '',
    bodySign: checkBodySign(accessKey, bytes, res.headers.get('body-sign') ?? undefined),
  };
}

export function kitCalls(target: () => KitTarget) {
  const build = (iface: KitInterface, body: Record<string, unknown>, opts: Partial<KitRequestOptions> = {}): KitRequest =>
    buildKitRequest({ ...target(), iface, body, ...opts });
  const send = (iface: KitInterface, body: Record<string, unknown>, opts: Partial<KitRequestOptions> = {}): Promise<Answer> =>
    post(build(iface, body, opts), target().accessKey);
  /** A V2 request whose signature covers exactly `text`. */
  const rawV2 = (path: string, text: string, o: { nonce?: string; timestamp?: string; accessKey?: string } = {}): KitRequest => {
    const nonce = o.nonce ?? randomBytes(16).toString('hex');
    const timestamp = o.timestamp ?? String(Date.now());
    return {
      url: `${target().baseUrl}/produceAPI/v2/${path}`,
      headers: { 'content-type': 'application/json', 'x-nonce': nonce, 'x-timestamp': timestamp, 'x-sign': signKitV2(o.accessKey ?? target().accessKey, nonce, timestamp, text) },
      body: text,
    };
  };
  /** A V1 request with `text` as body and an authToken over `params` (defaults: the body's own fields). */
  const rawV1 = (path: string, text: string, o: { timeStamp?: string; params?: Record<string, string>; accessKey?: string } = {}): KitRequest => {
    let params = o.params;
    if (!params) {
      params = {};
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
          for (const [k, v] of Object.entries(parsed)) if (v !== null) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
        }
      } catch {
        /* unparsable bodies get a token over nothing */
      }
    }
    const ts = o.timeStamp ?? params['timeStamp'] ?? kitTimeStamp(Date.now());
    return {
      url: `${target().baseUrl}/produceAPI/${path}`,
      headers: { 'content-type': 'application/json', authToken: v1AuthToken(o.accessKey ?? target().accessKey, ts, params) },
      body: text,
    };
  };
  return { build, send, rawV2, rawV1 };
}

/** What most assertions compare of an answer: `toEqual(result(a))` against `{ status, resultCode, resultMsg }`. */
export const result = (a: Answer): { status: number; resultCode?: string; resultMsg?: string } => ({ status: a.status, resultCode: a.resultCode, resultMsg: a.resultMsg });

export interface KitChecks {
  /** HTTP 200, JSON, a resultCode and resultMsg; a valid Body-Sign on V1 answers, none on V2 ones. */
  expectWellFormed(a: Answer): void;
  /** A well-formed `000000 Success`. */
  expectOk(p: Promise<Answer>): Promise<Answer>;
  /** Sends `call` (a built request, or a function that sends one), expects a well-formed `code` and the snapshot unchanged. */
  expectRefused(call: KitRequest | (() => Promise<Answer>), code: string): Promise<Answer>;
}

/**
 * The checks every kit test makes: each answer has the protocol's shape, and a refused call leaves
 * `snapshot()` (the directory: directorySnapshot on Redis, directoryView on either store) as it was.
 */
export function kitChecks(o: { generation: Generation; accessKey: () => string; snapshot: () => Promise<unknown> }): KitChecks {
  const expectWellFormed = (a: Answer) => {
    expect(a.status).toBe(200);
    expect(a.contentType).toMatch(/^application\/json/);
    expect(typeof a.resultCode).toBe('string');
    expect(typeof a.resultMsg).toBe('string');
    expect(a.bodySign).toBe(o.generation === 'v1' ? 'valid' : 'missing');
  };
  return {
    expectWellFormed,
    async expectOk(p) {
      const a = await p;
      expectWellFormed(a);
      expect({ resultCode: a.resultCode, resultMsg: a.resultMsg }).toEqual({ resultCode: '000000', resultMsg: 'Success' });
      return a;
    },
    async expectRefused(call, code) {
      const before = await o.snapshot();
      const a = typeof call === 'function' ? await call() : await post(call, o.accessKey());
      expectWellFormed(a);
      expect(a.resultCode).toBe(code);
      expect(await o.snapshot()).toEqual(before);
      return a;
    },
  };
}

/** Bodies of every interface, valid unless overridden. */
export const bodies = {
  tenant: (tenantId: string, domainName: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    instanceId: `inst-${tenantId}`,
    orderId: `order-${tenantId}`,
    tenantId,
    tenantCode: `code-${tenantId}`,
    name: `Name of ${tenantId}`,
    domainName,
    flag: 1,
    testFlag: 1,
    timeStamp: kitTimeStamp(Date.now()),
    ...over,
  }),
  app: (tenantId: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    instanceId: `inst-${tenantId}`,
    tenantId,
    appId: DEMO_APP_ID,
    clientId: `client-${tenantId}`,
    clientSecret: `plain-${tenantId}-secret`,
    flag: 1,
    testFlag: 1,
    timeStamp: kitTimeStamp(Date.now()),
    ...over,
  }),
  auth: (tenantId: string, users: Record<string, unknown>[], over: Record<string, unknown> = {}): Record<string, unknown> => ({
    instanceId: `inst-${tenantId}`,
    tenantId,
    appId: DEMO_APP_ID,
    userList: users,
    currentSyncTime: kitTimeStamp(Date.now()),
    flag: 1,
    testFlag: 1,
    timeStamp: kitTimeStamp(Date.now()),
    ...over,
  }),
  user: (userName: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    userName,
    name: `Name ${userName}`,
    orgCode: 'org-a',
    role: 'user',
    enable: 'true',
    ...over,
  }),
  org: (tenantId: string, orgCode: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    instanceId: `inst-${tenantId}`,
    tenantId,
    orgCode,
    orgName: `Org ${orgCode}`,
    parentCode: '',
    flag: 1,
    testFlag: 1,
    timeStamp: kitTimeStamp(Date.now()),
    ...over,
  }),
  orgs: (tenantId: string, list: Record<string, unknown>[], over: Record<string, unknown> = {}): Record<string, unknown> => ({
    instanceId: `inst-${tenantId}`,
    tenantId,
    orgInfoList: list,
    testFlag: 1,
    timeStamp: kitTimeStamp(Date.now()),
    ...over,
  }),
};

/**
 * Every directory key in Redis with its value (strings as stored, sets sorted): a refused call must leave
 * this exactly as it was. Nonces and sessions are left out (they are not the directory).
 */
export async function directorySnapshot(redis: Redis): Promise<Record<string, string | string[]>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', 'koogate:dir:*', 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  keys.sort();
  // Pipelined: a snapshot of a few thousand keys stays a few round trips.
  const types = ((await redis.pipeline(keys.map((k) => ['type', k])).exec()) ?? []).map(([, t]) => String(t));
  const values = (await redis.pipeline(keys.map((k, i) => (types[i] === 'set' ? ['smembers', k] : ['get', k]))).exec()) ?? [];
  const out: Record<string, string | string[]> = {};
  keys.forEach((k, i) => {
    const v = values[i]?.[1];
    out[k] = Array.isArray(v) ? (v as string[]).slice().sort() : String(v);
  });
  return out;
}

/**
 * The directory as its own API reads it, on either store: every tenant, and each named tenant's credentials
 * for the named apps. Weaker than directorySnapshot (only what is named), for tests that run on the memory store.
 */
export async function directoryView(dir: Directory, tenants: readonly string[], appIds: readonly string[] = [DEMO_APP_ID]): Promise<Record<string, unknown>> {
  const creds: Record<string, unknown> = {};
  for (const t of tenants) for (const app of appIds) creds[`${t}/${app}`] = await dir.getAppCredential(t, app);
  return { tenants: await dir.listTenants(), creds };
}

export async function rawRedis(url: string): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  return r;
}
