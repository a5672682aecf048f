import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Sealer } from '../../src/crypto/sealed';
import { WS_CLOSE_SESSION_ENDED } from '../../src/proxy/ws-registry';
import { silentLogger } from '../../src/observability/logger';
import { stackEnv, startStack, type Stack } from '../../src/sandbox/stack';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { Client } from '../support/browserless-client';
import { rawRedis } from '../support/kit';
import { login, loginCookie } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { startReplicaPair, type ReplicaPair } from '../support/replica';
import { api } from '../support/stack';
import { startTestUpstream, type TestUpstream } from '../support/upstream';
import { eventually, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The operator's commands as an operator runs them: the built CLI as its own process, against the Redis
 * two koogate replicas share, checking what it prints and what it did.
 */
// Every step runs the CLI as its own process; on a loaded machine that is seconds each.
jest.setTimeout(120_000);

const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli.js');
/** The OS account running the command, as the audit line names it. */
const ACTOR = `cli:${userInfo().username}`;
const ADMIN_TOKEN = `admin-${randomBytes(24).toString('hex')}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((ok) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const auditLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.includes('"audit":true'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('koogate sessions / webhook dead-letters (two replicas, one Redis)', () => {
  let upstream: TestUpstream;
  let receiver: WebhookReceiver;
  let pair: ReplicaPair;
  let env: Record<string, string>;
  const run = (...args: string[]) => cli(args, env);
  const status = async (url: string, cookie: string) => (await fetch(`${url}/me`, { headers: { ...api, cookie } })).status;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    receiver = await startWebhookReceiver();
    // The app refuses every delivery and koogate gives up at once: each synced call becomes a dead letter.
    receiver.answer = () => 500;
    pair = await startReplicaPair({
      upstreamUrl: upstream.url,
      env: { KOOGATE_ADMIN_TOKEN: ADMIN_TOKEN, KOOGATE_WEBHOOK_URL: receiver.url, KOOGATE_WEBHOOK_SECRET: 'w'.repeat(40), KOOGATE_WEBHOOK_MAX_ATTEMPTS: '1', KOOGATE_WEBHOOK_RETRY_BASE_MS: '20' },
    });
    env = { ...stackEnv(pair.sandbox, upstream.url, pair.secrets, 0), REDIS_URL: pair.redis.url };
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await upstream?.close();
    await receiver?.close();
  });

  test('sessions list: user, login, last seen, expiry and a reference; never a session id, cookie or token', async () => {
    const cookies = [await loginCookie(pair.a.url, pair.sandbox), await loginCookie(pair.b.url, pair.sandbox), await loginCookie(pair.a.url, pair.sandbox, { userName: 'lina' })];
    const all = await run('sessions', 'list', '--tenant', 't-acme');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^REF +USER +LOGGED IN +LAST SEEN +EXPIRES\n/);
    expect(all.stdout).toContain('3 sessions of tenant t-acme');
    expect(all.stdout.match(/zhangwei/g)).toHaveLength(2);
    for (const c of cookies) {
      const sid = decodeURIComponent(c.split('=')[1]!).replace(/^s:/, '').split('.')[0]!;
      expect(all.stdout + all.stderr).not.toContain(sid);
    }
    const json = await run('sessions', 'list', '--tenant', 't-acme', '--user', 'zhangwei', '--json');
    const body = JSON.parse(json.stdout) as { items: Record<string, string>[]; total: number };
    expect(body.total).toBe(2);
    for (const s of body.items) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'expiresAt', 'lastSeenAt', 'ref', 'tenantId', 'userName']);
      expect(Date.parse(s.expiresAt!)).toBeGreaterThan(Date.parse(s.lastSeenAt!));
    }
    expect(auditLines(json.stderr)).toEqual([expect.objectContaining({ actor: ACTOR, action: 'sessions.list', count: 2, tenantId: 't-acme', userName: 'zhangwei' })]);
    // The HTTP API gives the same listing, with the same references.
    const viaHttp = await fetch(`${pair.b.url}/_koogate/admin/sessions?tenant=t-acme&user=zhangwei`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(((await viaHttp.json()) as typeof body).items.map((s) => s.ref).sort()).toEqual(body.items.map((s) => s.ref).sort());
  });

  test('sessions end: log out everywhere — every replica refuses the sessions and a websocket at the other replica closes', async () => {
    const client = new Client();
    expect((await login(client, pair.a.url, pair.sandbox, { returnTo: '/', userName: 'bob', stopAtCallback: true })).at(-1)!.status).toBe(302);
    const bob = client.cookieHeader(pair.a.url);
    const bob2 = await loginCookie(pair.b.url, pair.sandbox, { userName: 'bob' });
    const lina = await loginCookie(pair.a.url, pair.sandbox, { userName: 'lina' });
    const ws = new WebSocket(`${pair.b.url.replace('http:', 'ws:')}/ws`, { headers: { cookie: bob } });
    const closed = new Promise<number>((ok) => ws.on('close', (code) => ok(code)));
    await new Promise((ok, fail) => {
      ws.once('message', ok);
      ws.once('error', fail);
    });
    for (const url of [pair.a.url, pair.b.url]) expect(await status(url, bob)).toBe(200);

    const end = await run('sessions', 'end', '--tenant', 't-acme', '--user', 'bob');
    expect({ code: end.code, out: end.stdout }).toEqual({ code: 0, out: 'ended 2 sessions of user bob of tenant t-acme, on every replica\n' });
    expect(auditLines(end.stderr)).toEqual([expect.objectContaining({ actor: ACTOR, action: 'sessions.end', count: 2, tenantId: 't-acme', userName: 'bob' })]);
    expect(await closed).toBe(WS_CLOSE_SESSION_ENDED);
    for (const url of [pair.a.url, pair.b.url]) {
      expect(await status(url, bob)).toBe(401);
      expect(await status(url, bob2)).toBe(401);
      // Another user of the tenant keeps working.
      expect(await status(url, lina)).toBe(200);
    }
    expect((await run('sessions', 'end', '--tenant', 't-acme', '--user', 'bob')).stdout).toBe('ended 0 sessions of user bob of tenant t-acme, on every replica\n');
  });

  test('sessions end over HTTP, for a whole tenant', async () => {
    const other = await loginCookie(pair.b.url, pair.sandbox, { tenantId: 't-globex', userName: 'wangfang' });
    const res = await fetch(`${pair.a.url}/_koogate/admin/sessions/end`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 't-globex' }),
    });
    expect(await res.json()).toEqual({ ended: 1 });
    expect(await status(pair.b.url, other)).toBe(401);
    // The audit line may still be in the replica's log batch when the answer arrives.
    const audit = await pair.a.waitForLog((l) => l.audit === true && l.action === 'sessions.end' && l.tenantId === 't-globex');
    expect(audit).toMatchObject({ action: 'sessions.end', count: 1, tenantId: 't-globex', actor: 'http:127.0.0.1' });
  });

  test('webhook dead-letters list and redeliver: by id, then all; the app receives them; an unknown id is said so', async () => {
    const dead = async () => JSON.parse((await run('webhook', 'dead-letters', 'list', '--json')).stdout) as { items: { id: string; event: string; attempts: number; lastError: string }[]; total: number };
    await eventually(async () => (await dead()).total === 6, 'every synced call is a dead letter');
    const listing = await run('webhook', 'dead-letters', 'list');
    expect(listing.stdout).toMatch(/^ID +EVENT +TENANT +ATTEMPTS +GIVEN UP +LAST ERROR\n/);
    expect(listing.stdout).toContain('6 dead letters');
    expect(listing.stdout).toContain('HTTP 500');
    const items = (await dead()).items;
    expect(items.map((d) => d.event).sort()).toEqual(['applicationSync', 'applicationSync', 'authSync', 'authSync', 'tenantSync', 'tenantSync']);
    // No secret of any kind in the listing (the events' bodies are not shown at all).
    expect(listing.stdout).not.toMatch(/clientSecret|secret-/i);

    receiver.answer = () => 200;
    const first = items[0]!.id;
    const one = await run('webhook', 'dead-letters', 'redeliver', '--id', first, '--id', 'no-such-event');
    expect(one.code).toBe(1);
    expect(one.stdout).toBe(`requeued 1 event: ${first}\nnot dead letters (unknown, or requeued already): no-such-event\n`);
    expect(auditLines(one.stderr)).toEqual([expect.objectContaining({ action: 'webhook.dead-letters.redeliver', count: 1, asked: 2, missing: 1 })]);
    await receiver.waitFor((r) => r.event.id === first && r.answer === 200, 'the redelivered event');
    expect((await dead()).total).toBe(5);

    const rest = await run('webhook', 'dead-letters', 'redeliver', '--all', '--json');
    expect(rest.code).toBe(0);
    expect((JSON.parse(rest.stdout) as { requeued: string[] }).requeued).toHaveLength(5);
    await eventually(async () => items.every((d) => receiver.received.some((r) => r.event.id === d.id && r.answer === 200)), 'every dead letter reaches the app');
    expect((await dead()).total).toBe(0);
    expect((await run('webhook', 'dead-letters', 'redeliver', '--all')).stdout).toBe('requeued 0 events\n');
  });

  test('usage errors and configuration errors: exit 2, a message, nothing done', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['sessions', 'list'], env, /--tenant is required/],
      [['sessions', 'end', '--tenant'], env, /--tenant needs a value/],
      [['sessions', 'end', '--tenant', 'a', '--tenant', 'b'], env, /given twice/],
      [['sessions', 'end', '--tenant', 't\u0001x'], env, /visible characters/],
      [['sessions', 'end', '--tenant', 't-acme', '--all'], env, /does not go with/],
      [['webhook', 'dead-letters', 'redeliver'], env, /--id <eventId> \(repeatable\) or --all/],
      [['webhook', 'dead-letters', 'redeliver', '--all', '--id', 'x'], env, /or --all/],
      [['keys', 'rotate'], env, /unknown command "keys rotate"/],
      [['sessions', 'list', '--tenant', 't-acme'], { ...env, REDIS_URL: '' }, /no shared store is configured/],
      [['sessions', 'list', '--tenant', 't-acme'], { ...env, KOOGATE_SESSION_SECRET: 'short' }, /KOOGATE_SESSION_SECRET/],
    ];
    for (const [args, e, message] of cases) {
      const r = await cli(args, e);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(auditLines(r.stderr)).toEqual([]);
    }
  });

  test('the store unreachable: exit 1 with a message, no hang', async () => {
    const r = await cli(['sessions', 'list', '--tenant', 't-acme'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the store cannot be reached');
  });
});

describe('koogate keys reseal (a key rotation)', () => {
  let redis: RedisServer;
  let sandbox: Sandbox;
  const OLD = `old-${randomBytes(20).toString('hex')}`;
  const NEW = `new-${randomBytes(20).toString('hex')}`;
  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox({});
  });
  afterAll(async () => {
    await sandbox?.close();
    await redis?.dispose();
  });
  const stackWith = (keys: string, secrets?: Stack['secrets']) => startStack({ log: silentLogger, redisUrl: redis.url, sandbox, secrets, env: { KOOGATE_ENCRYPTION_KEYS: keys } });
  const keyIds = async (): Promise<string[]> => {
    const r = await rawRedis(redis.url);
    try {
      const ids: string[] = [];
      for (const k of await r.keys('koogate:*')) {
        if ((await r.type(k)) !== 'string') continue;
        for (const m of (await r.get(k))!.matchAll(/"(?:clientSecretSealed|tokens)":"v1\.([A-Za-z0-9_-]+)\./g)) ids.push(m[1]!);
      }
      return ids;
    } finally {
      r.disconnect();
    }
  };

  test('everything sealed under the old key is re-sealed under the first; then the old key can go', async () => {
    // 1. koogate runs with the old key: client secrets and a session's tokens are sealed under it.
    const before = await stackWith(OLD);
    await before.syncTenants();
    const cookie = await loginCookie(before.url, sandbox);
    const port = new URL(before.url).port;
    await before.close();
    const oldId = Sealer.fromSecrets([OLD]).currentKeyId;
    const newId = Sealer.fromSecrets([NEW]).currentKeyId;
    expect(new Set(await keyIds())).toEqual(new Set([oldId]));

    // 2. The new key goes first; 3. the command re-seals.
    const env = { ...stackEnv(sandbox, 'http://127.0.0.1:1', before.secrets, Number(port)), REDIS_URL: redis.url, KOOGATE_ENCRYPTION_KEYS: `${NEW},${OLD}` };
    const run = await cli(['keys', 'reseal'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'client secrets: 2 re-sealed, 0 already under the first key, 0 unreadable\n' +
        'session tokens: 1 re-sealed, 0 already under the first key, 0 unreadable\n' +
        'every stored secret is now under the first key: older keys can be removed from KOOGATE_ENCRYPTION_KEYS\n',
    );
    expect(auditLines(run.stderr)).toEqual([expect.objectContaining({ action: 'keys.reseal', count: 3, actor: ACTOR, grants: { resealed: 1, current: 0, gone: 0, failed: 0 } })]);
    expect(new Set(await keyIds())).toEqual(new Set([newId]));
    expect((await cli(['keys', 'reseal', '--json'], env)).stdout).toContain('"current": 2');

    // 4. Without the old key: the session still works (its tokens open) and a new login too (the secrets open).
    const after = await stackWith(NEW, before.secrets);
    try {
      const me = await fetch(`${after.koogate.url}/me`, { headers: { ...api, cookie } });
      expect(me.status).toBe(200);
      expect(await loginCookie(after.koogate.url, sandbox, { userName: 'lina' })).toContain('koogate.sid=');
    } finally {
      await after.close();
    }
    // A value no configured key opens is counted, left alone, and the exit status says so.
    const only = await cli(['keys', 'reseal'], { ...env, KOOGATE_ENCRYPTION_KEYS: `${'z'.repeat(40)}` });
    expect(only.code).toBe(1);
    expect(only.stdout).toContain('client secrets: 0 re-sealed, 0 already under the first key, 2 unreadable');
    expect(new Set(await keyIds())).toEqual(new Set([newId]));
  });
});
