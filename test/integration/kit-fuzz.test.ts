import type Redis from 'ioredis';
import { randomBytes, type KeyObject } from 'node:crypto';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import { KIT_INTERFACES, kitTimeStamp, type KitInterface, type KitRequest } from '../../src/kit/client';
import type { Stack } from '../../src/sandbox/stack';
import { startRedis, type RedisServer } from '../support/redis';
import { DEMO_APP_ID, syncedStack } from '../support/stack';
import { bodies, directorySnapshot, kitCalls, post, rawRedis } from '../support/kit';
import { prng } from '../support/prng';

/**
 * Property: whatever reaches a kit endpoint — random or mutated bodies, correctly signed (so they get past
 * the signature to validation and apply) or not signed at all — the answer is HTTP 200 JSON with a known
 * result code (never an internal error), V1 answers are signed, and a refused call changes no directory key.
 * Seeded, so a failure names a case that replays exactly.
 */
const SEED = 0x6b6f6f67;
const CASES = 400;
const KNOWN_CODES = ['000000', '000001', '000002', '000101'];

class Gen {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  string(): string {
    return this.pick([
      () => '',
      () => ' ',
      () => 'true',
      () => 'false',
      () => '1',
      () => '-0',
      () => 'null',
      () => 't-acme',
      () => 'zhangwei',
      () => DEMO_APP_ID,
      () => '20250101120000000',
      () => 'https://evil.example',
      () => '[{"userName":"zhangwei","enable":"false","role":"admin"}]',
      () => '{"__proto__":{"x":1}}',
      () => '张伟\u0000\u202e"\\\'<script>',
      () => '😀'.repeat(this.int(1, 40)),
      () => 'x'.repeat(this.int(60, 700)),
      () => randomAscii(this, this.int(1, 30)),
    ])();
  }
  value(depth = 0): unknown {
    const kinds = depth > 2 ? 6 : 8;
    switch (this.int(0, kinds - 1)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, 1, 2, 3, 4, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER + 2, 500, 501, -0]);
      case 3:
      case 4:
      case 5:
        return this.string();
      case 6:
        return Array.from({ length: this.int(0, 4) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(0, 4); i > 0; i--) o[this.pick(FIELD_NAMES)] = this.value(depth + 1);
        return o;
      }
    }
  }
}

function randomAscii(g: Gen, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(g.int(32, 126));
  return s;
}

const FIELD_NAMES = [
  'instanceId', 'orderId', 'tenantId', 'tenantCode', 'name', 'domainName', 'flag', 'testFlag', 'timeStamp', 'appId', 'clientId',
  'clientSecret', 'userList', 'currentSyncTime', 'orgCode', 'orgName', 'parentCode', 'orgInfoList', 'orgInfo', 'userName',
  'role', 'enable', 'employeeType', 'email', '__proto__', 'constructor', 'extra',
];

/** A valid body per interface, aimed at data that exists, so a wrongly applied mutation would show. */
function validBody(g: Gen, iface: KitInterface, domain: (t: string) => string): Record<string, unknown> {
  const tenant = g.pick(['t-acme', 't-globex', 't-fuzz']);
  switch (iface) {
    case 'tenantSync':
      return bodies.tenant(tenant, domain(tenant), { flag: g.pick([1, 2, 0]) });
    case 'applicationSync':
      return bodies.app(tenant, { flag: g.pick([1, 2, 0]) });
    case 'authSync':
      return bodies.auth(
        tenant,
        Array.from({ length: g.int(1, 6) }, (_, i) => bodies.user(g.pick(['zhangwei', 'lina', 'bob', 'wangfang', `fz-${i}`]) + (i > 0 ? `-${i}` : ''), { role: g.pick(['user', 'admin']) })),
        { flag: g.pick([0, 1, 2, 3]) },
      );
    case 'singleOrgSync':
      return bodies.org(tenant, g.pick(['hq', 'rd', 'ops']), { parentCode: g.pick(['', 'hq', 'rd']), flag: g.pick([0, 1, 2]) });
    case 'allOrgSync':
      return bodies.orgs(tenant, [{ orgCode: 'hq', orgName: 'HQ', parentCode: '' }, { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' }]);
  }
}

/** One mutation of a valid body: the kinds of damage senders and attackers do. */
function mutate(g: Gen, body: Record<string, unknown>): string {
  const keys = Object.keys(body);
  const key = g.pick(keys);
  const kind = g.int(0, 9);
  switch (kind) {
    case 0:
      delete body[key];
      return `delete ${key}`;
    case 1:
      body[key] = g.value();
      return `${key} := random`;
    case 2:
      body[g.pick(FIELD_NAMES)] = g.value();
      return 'random field';
    case 3: {
      const list = body.userList ?? body.orgInfoList;
      if (Array.isArray(list) && list.length > 0) {
        const entry = list[g.int(0, list.length - 1)] as Record<string, unknown>;
        entry[g.pick(Object.keys(entry))] = g.value(1);
        return 'nested field := random';
      }
      body.flag = g.value();
      return 'flag := random';
    }
    case 4: {
      const list = body.userList ?? body.orgInfoList;
      if (Array.isArray(list)) {
        const k = body.userList !== undefined ? 'userList' : 'orgInfoList';
        body[k] = g.chance(0.5) ? JSON.stringify(list) : JSON.stringify(list).slice(0, -g.int(1, 5));
        return `${k} as (maybe broken) JSON text`;
      }
      body.tenantId = g.value();
      return 'tenantId := random';
    }
    case 5: {
      if (Array.isArray(body.userList)) {
        body.userList = [...body.userList, ...body.userList];
        return 'users duplicated';
      }
      body.flag = g.pick([3, 4, '1', '01', ' 1', 1.0, true]);
      return 'flag := odd';
    }
    case 6:
      if (Array.isArray(body.userList)) {
        body.userList = Array.from({ length: 501 }, (_, i) => bodies.user(`many-${i}`));
        return '501 users';
      }
      body.timeStamp = g.value();
      return 'timeStamp := random';
    case 7:
      return `${mutate(g, body)}; ${mutate(g, body)}`;
    case 8:
      body.appId = g.pick(['other-app-0002', DEMO_APP_ID, '', 7]);
      return 'appId := other';
    default:
      return 'unchanged';
  }
}

type Mode = 'v2-signed' | 'v1-signed' | 'v2-unsigned' | 'v1-unsigned' | 'v2-raw-signed' | 'random-body';

describe('kit endpoints under random and mutated input', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));

  beforeAll(async () => {
    redisServer = await startRedis();
    redis = await rawRedis(redisServer.url);
    stack = await syncedStack({ redisUrl: redisServer.url });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
    const ok = async (req: KitRequest) => expect((await post(req, stack.secrets.accessKey)).resultCode).toBe('000000');
    for (const t of ['t-acme', 't-globex']) {
      await ok(kit.build('allOrgSync', bodies.orgs(t, [{ orgCode: 'hq', orgName: 'HQ', parentCode: '' }, { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' }])));
    }
  });
  afterAll(async () => {
    await stack?.close();
    redis?.disconnect();
    await redisServer?.dispose();
  });

  test(`${CASES} cases, seed ${SEED}: HTTP 200 JSON, a known code, signed V1 answers, no partial writes`, async () => {
    const g = new Gen(prng(SEED));
    const seen = new Map<string, number>();
    const modes: Mode[] = ['v2-signed', 'v1-signed', 'v2-unsigned', 'v1-unsigned', 'v2-raw-signed', 'random-body'];
    for (let i = 0; i < CASES; i++) {
      const iface = g.pick(KIT_INTERFACES);
      const mode = g.pick(modes);
      const body = validBody(g, iface, (t) => stack.sandbox.domainOf(t));
      let what = 'valid';
      if (mode === 'random-body') {
        for (const k of Object.keys(body)) delete body[k];
        Object.assign(body, g.value(1) ?? {});
        what = 'random object';
      } else if (!g.chance(0.1)) {
        what = mutate(g, body);
      }
      const generation = mode.startsWith('v1') ? 'v1' : 'v2';
      let req: KitRequest;
      if (mode === 'v2-raw-signed') {
        // Text that is not what JSON.stringify would write: spaces, cut short, or not JSON at all.
        const text = g.pick([
          () => JSON.stringify(body, null, g.int(0, 2)),
          () => JSON.stringify(body).slice(0, g.int(0, 40)),
          () => randomAscii(g, g.int(0, 80)),
          () => JSON.stringify([body]),
        ])();
        req = kit.rawV2(iface, text);
        what += ' (raw text)';
      } else {
        req = kit.build(iface, body, { generation, now: g.chance(0.05) ? () => Date.now() - 120_000 : undefined });
      }
      if (mode === 'v2-unsigned') {
        const h = g.int(0, 3);
        if (h === 0) delete req.headers['x-sign'];
        else if (h === 1) req.headers['x-sign'] = randomBytes(32).toString('hex');
        else if (h === 2) req.headers['x-sign'] = g.string().replace(/[^\x20-\x7e]/g, '');
        else req.headers = { 'content-type': 'application/json' };
      } else if (mode === 'v1-unsigned') {
        if (g.chance(0.5)) delete req.headers.authToken;
        else req.headers.authToken = randomBytes(32).toString('base64');
      }

      const before = await directorySnapshot(redis);
      const answer = await post(req, stack.secrets.accessKey);
      const label = { case: i, iface, mode, what };
      expect({ ...label, status: answer.status, json: answer.contentType.startsWith('application/json') }).toEqual({ ...label, status: 200, json: true });
      expect({ ...label, code: KNOWN_CODES.includes(answer.resultCode ?? '') ? 'known' : `${answer.resultCode}: ${answer.resultMsg}` }).toEqual({ ...label, code: 'known' });
      expect({ ...label, bodySign: answer.bodySign }).toEqual({ ...label, bodySign: generation === 'v1' ? 'valid' : 'missing' });
      if (answer.resultCode !== '000000') {
        expect({ ...label, unchanged: JSON.stringify(await directorySnapshot(redis)) === JSON.stringify(before) }).toEqual({ ...label, unchanged: true });
      }
      if (mode.endsWith('unsigned')) expect({ ...label, code: answer.resultCode }).not.toEqual({ ...label, code: '000000' });
      seen.set(`${mode} ${answer.resultCode}`, (seen.get(`${mode} ${answer.resultCode}`) ?? 0) + 1);
    }
    // The cases reach every stage in both generations: signature refusals, validation refusals, applied calls.
    for (const k of ['v2-signed 000000', 'v2-signed 000002', 'v1-signed 000000', 'v1-signed 000002', 'v2-unsigned 000001', 'v1-unsigned 000001', 'v2-raw-signed 000002']) {
      expect({ k, n: (seen.get(k) ?? 0) > 0 }).toEqual({ k, n: true });
    }
    // And koogate is still well: a valid call after all that succeeds.
    expect((await post(kit.build('tenantSync', bodies.tenant('t-after', stack.sandbox.domainOf('t-after'), { timeStamp: kitTimeStamp(Date.now()) })), stack.secrets.accessKey)).resultCode).toBe('000000');
  }, 120_000);
});
