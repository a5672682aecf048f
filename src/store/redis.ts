import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { RedisSettings } from '../config/config';
import type { Logger } from '../observability/logger';
import { StoreUnavailableError, type KeyValueStore, type QueueClaim, type QueuedEntry, type QueueSettlement, type WriteOp } from './store';

/**
 * A Redis client that fails fast: with Redis down, ioredis' defaults hold a request for over a minute.
 * Here a command fails at once while disconnected (no offline queue) and after commandTimeout otherwise,
 * so koogate answers 503 quickly and serves again as soon as the reconnect succeeds.
 */
export type RedisClient = Redis | Cluster;

export function createRedisClient(settings: RedisSettings | string, log: Logger): RedisClient {
  const spec: RedisSettings = typeof settings === 'string' ? { mode: 'single', url: settings } : settings;
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 3000,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  let client: RedisClient;
  if (spec.mode === 'single') {
    client = new Redis(spec.url, common);
  } else if (spec.mode === 'sentinel') {
    client = new Redis({
      ...common,
      sentinels: spec.sentinels,
      name: spec.masterName,
      username: spec.username,
      password: spec.password,
      sentinelPassword: spec.sentinelPassword,
      tls: spec.tls ? {} : undefined,
      enableTLSForSentinelMode: spec.tls,
      sentinelRetryStrategy: (times) => Math.min(times * 200, 2000),
    });
  } else {
    client = new Cluster(spec.nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      redisOptions: { ...common, lazyConnect: false, username: spec.username, password: spec.password, tls: spec.tls ? {} : undefined },
    });
  }
  watchConnection(client, log, 'store');
  return client;
}

/**
 * Every connection needs an error listener, else ioredis prints "[ioredis] Unhandled error event" with a
 * stack to stderr on every reconnect. One JSON line when a connection goes down, one when it is back.
 */
export function watchConnection(client: RedisClient, log: Logger, connection: string): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.error('redis connection error', { connection, err: err.message });
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info('redis connection restored', { connection });
    down = false;
  });
}

/**
 * Multi-key operations (transactions, scripts) need their keys in one slot on a Cluster: a hash tag in
 * the prefix puts every key of the store there. Sessions (connect-redis) are single-key and spread.
 */
export const storePrefix = (client: RedisClient) => (client instanceof Cluster ? 'koogate:{kg}:' : 'koogate:');

const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or (cur ~= false and ARGV[1] ~= '' and cur == string.sub(ARGV[1], 2)) then
  if ARGV[3] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('SET', KEYS[1], ARGV[2]) end
  return 1
end
return 0`;

const EXPIRE_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const DEL_IF_EQUALS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/*
 * Delay queues: KEYS are a queue's `due` (sorted set: id by due time), `items` (hash: id → payload) and
 * `claims` (hash: id → the claim that holds it). Times come from the server's clock, so every replica
 * agrees on what is due whatever its own clock says.
 */
const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const QUEUE_PUSH = `${NOW_MS}
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1`;

const QUEUE_CLAIM = `${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[3], id, ARGV[1])
    out[#out + 1] = id
    out[#out + 1] = payload
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return out`;

/** KEYS 4–6: the target queue of a move. ARGV: id, claim, kind, payload, delayMs (retry) or keep (move). */
const QUEUE_SETTLE = `
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[3] == 'retry' then
  ${NOW_MS}
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[3] == 'move' then
  ${NOW_MS}
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[4])
  redis.call('HDEL', KEYS[6], ARGV[1])
  redis.call('ZADD', KEYS[4], now, ARGV[1])
  local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[5])
  if excess > 0 then
    local old = redis.call('ZRANGE', KEYS[4], 0, excess - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, excess - 1)
    redis.call('HDEL', KEYS[5], unpack(old))
    redis.call('HDEL', KEYS[6], unpack(old))
  end
end
return 1`;

/** KEYS 1–3: the source queue, 4–6: the target. ARGV: id, payload, delayMs. */
const QUEUE_MOVE = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
${NOW_MS}
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), ARGV[1])
return 1`;

const QUEUE_PEEK = `
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i]
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i]) or ''
end
return out`;

/*
 * atomicIf: KEYS[1] is the guard, ARGV[1] its expected value tagged as in CAS_SCRIPT; then each op takes
 * one key (KEYS[2..]) and three arguments: its name, its value or member, its ttl (ms, '' for none).
 */
const ATOMIC_IF = `
local cur = redis.call('GET', KEYS[1])
if not ((cur == false and ARGV[1] == '') or (cur ~= false and ARGV[1] ~= '' and cur == string.sub(ARGV[1], 2))) then return 0 end
local a = 2
for i = 2, #KEYS do
  local op, v, t = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  a = a + 3
  if op == 'set' then
    if t ~= '' then redis.call('SET', KEYS[i], v, 'PX', t) else redis.call('SET', KEYS[i], v) end
  elseif op == 'del' then redis.call('DEL', KEYS[i])
  elseif op == 'sadd' then redis.call('SADD', KEYS[i], v)
  elseif op == 'srem' then redis.call('SREM', KEYS[i], v)
  elseif op == 'expire' then redis.call('PEXPIRE', KEYS[i], t)
  end
end
return 1`;

const ms = (n: number) => String(Math.max(0, Math.ceil(n)));

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis' as const;

  /** Called on every failed command (the store-error metric). */
  onFailure: () => void = () => {};

  constructor(
    readonly client: RedisClient,
    private readonly prefix = storePrefix(client),
  ) {}

  private k(key: string) {
    return this.prefix + key;
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.onFailure();
      throw new StoreUnavailableError(e);
    }
  }

  get(key: string) {
    return this.run(() => this.client.get(this.k(key)));
  }
  mget(keys: string[]) {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run(() => this.client.mget(keys.map((k) => this.k(k))));
  }
  set(key: string, value: string, ttlMs?: number) {
    return this.run(async () => {
      if (ttlMs === undefined) await this.client.set(this.k(key), value);
      else await this.client.set(this.k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    });
  }
  setIfAbsent(key: string, value: string, ttlMs: number) {
    return this.run(async () => (await this.client.set(this.k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK');
  }
  compareAndSet(key: string, expected: string | null, next: string, ttlMs?: number) {
    // The expected value travels with a one-character tag so that "absent" and "empty string" differ.
    const exp = expected === null ? '' : `=${expected}`;
    const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
    return this.run(async () => (await this.client.eval(CAS_SCRIPT, 1, this.k(key), exp, next, ttl)) === 1);
  }
  del(...keys: string[]) {
    if (keys.length === 0) return Promise.resolve();
    return this.run(async () => {
      await this.client.del(...keys.map((k) => this.k(k)));
    });
  }
  expireIfEquals(key: string, value: string, ttlMs: number) {
    return this.run(async () => (await this.client.eval(EXPIRE_IF_EQUALS, 1, this.k(key), value, String(Math.max(1, Math.ceil(ttlMs))))) === 1);
  }
  delIfEquals(key: string, value: string) {
    return this.run(async () => (await this.client.eval(DEL_IF_EQUALS, 1, this.k(key), value)) === 1);
  }
  sMembers(key: string) {
    return this.run(() => this.client.smembers(this.k(key)));
  }
  private queueKeys(queue: string): [string, string, string] {
    return [this.k(`${queue}:due`), this.k(`${queue}:items`), this.k(`${queue}:claims`)];
  }
  queuePush(queue: string, id: string, payload: string, delayMs: number) {
    return this.run(async () => {
      await this.client.eval(QUEUE_PUSH, 3, ...this.queueKeys(queue), id, payload, ms(delayMs));
    });
  }
  queueClaim(queue: string, claim: string, leaseMs: number, max: number) {
    return this.run(async () => {
      if (max < 1) return [];
      const flat = (await this.client.eval(QUEUE_CLAIM, 3, ...this.queueKeys(queue), claim, ms(leaseMs), String(Math.floor(max)))) as string[];
      const out: QueueClaim[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, payload: flat[i + 1]!, claim });
      return out;
    });
  }
  queueSettle(queue: string, id: string, claim: string, how: QueueSettlement) {
    return this.run(async () => {
      const keys = how.kind === 'move' ? [...this.queueKeys(queue), ...this.queueKeys(how.queue)] : this.queueKeys(queue);
      const args =
        how.kind === 'remove' ? ['remove', '', '0'] : how.kind === 'retry' ? ['retry', how.payload, ms(how.delayMs)] : ['move', how.payload, String(Math.max(0, Math.floor(how.keep)))];
      return (await this.client.eval(QUEUE_SETTLE, keys.length, ...keys, id, claim, ...args)) === 1;
    });
  }
  queueMove(from: string, to: string, id: string, payload: string, delayMs: number) {
    return this.run(async () => (await this.client.eval(QUEUE_MOVE, 6, ...this.queueKeys(from), ...this.queueKeys(to), id, payload, ms(delayMs))) === 1);
  }
  queuePeek(queue: string, max: number) {
    return this.run(async () => {
      if (max < 1) return [];
      const [due, items] = this.queueKeys(queue);
      const flat = (await this.client.eval(QUEUE_PEEK, 2, due, items, String(Math.floor(max)))) as string[];
      const out: QueuedEntry[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) out.push({ id: flat[i]!, dueAt: Number(flat[i + 1]), payload: flat[i + 2]! });
      return out;
    });
  }
  queueSize(queue: string) {
    return this.run(() => this.client.zcard(this.queueKeys(queue)[0]));
  }
  atomic(ops: WriteOp[]) {
    return this.run(async () => {
      const m = this.client.multi();
      for (const op of ops) {
        if (op.op === 'set') {
          if (op.ttlMs === undefined) m.set(this.k(op.key), op.value);
          else m.set(this.k(op.key), op.value, 'PX', Math.max(1, Math.ceil(op.ttlMs)));
        } else if (op.op === 'del') m.del(this.k(op.key));
        else if (op.op === 'sadd') m.sadd(this.k(op.key), op.member);
        else if (op.op === 'expire') m.pexpire(this.k(op.key), Math.max(1, Math.ceil(op.ttlMs)));
        else m.srem(this.k(op.key), op.member);
      }
      const res = await m.exec();
      const failed = res?.find(([err]) => err);
      if (!res || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
  }
  atomicIf(guard: { key: string; expected: string | null }, ops: WriteOp[]) {
    const keys = [this.k(guard.key), ...ops.map((op) => this.k(op.key))];
    const args = [guard.expected === null ? '' : `=${guard.expected}`];
    for (const op of ops) {
      const ttlMs = op.op === 'expire' || op.op === 'set' ? op.ttlMs : undefined;
      const value = op.op === 'set' ? op.value : op.op === 'sadd' || op.op === 'srem' ? op.member : '';
      args.push(op.op, value, ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs))));
    }
    return this.run(async () => (await this.client.eval(ATOMIC_IF, keys.length, ...keys, ...args)) === 1);
  }
  ping() {
    return this.run(async () => {
      await this.client.ping();
    });
  }
  async close() {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Where a Redis setting points, for messages: the variable and its target without credentials. */
export function describeRedis(spec: RedisSettings): string {
  if (spec.mode === 'single') return `REDIS_URL=${spec.url.replace(/\/\/[^@/]*@/, '//')}`;
  if (spec.mode === 'sentinel') return `REDIS_SENTINELS=${spec.sentinels.map((n) => `${n.host}:${n.port}`).join(',')} (primary ${spec.masterName})`;
  return `REDIS_CLUSTER_NODES=${spec.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

export class StoreStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreStartError';
  }
}

/**
 * Connects at start, waiting for a Redis that is not up yet (a compose or Kubernetes start, a failover):
 * a JSON line at every attempt saying what is awaited and until when, then a clear error naming the
 * setting once `waitMs` has passed. Attempts back off from 0.5 s to 5 s.
 */
export async function connectAtStart(client: RedisClient, spec: RedisSettings, waitMs: number, log: Logger, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
  const started = Date.now();
  const target = describeRedis(spec);
  // connect() rejects with "Connection is closed."; the cause (ECONNREFUSED, ENOTFOUND, NOAUTH…) comes as an
  // error event, not always on every attempt: the last one seen is the reason given.
  let cause: Error | undefined;
  const remember = (e: Error) => (cause = e);
  client.on('error', remember);
  for (let attempt = 1; ; attempt++) {
    try {
      await client.connect();
      client.off('error', remember);
      if (attempt > 1) log.info('redis reachable; starting', { target, attempts: attempt, waitedMs: Date.now() - started });
      return;
    } catch (e) {
      const err = (cause ?? e) as Error & { code?: string };
      const reason = err.code ?? err.message;
      // Stop ioredis' own reconnecting: this loop decides when to try again and when to give up.
      client.disconnect();
      const waited = Date.now() - started;
      if (waited >= waitMs) {
        client.off('error', remember);
        throw new StoreStartError(
          `Redis is not reachable at ${target} (${reason}) after ${Math.round(waited / 1000)} s; koogate does not start without its store. Check the setting and that Redis runs, or wait longer with KOOGATE_STORE_WAIT_SECONDS (now ${Math.round(waitMs / 1000)}).`,
        );
      }
      const retryInMs = Math.min(500 * attempt, 5000, Math.max(0, waitMs - waited));
      log.warn('waiting for redis', { target, reason, attempt, retryInMs, waitedMs: waited, giveUpAfterMs: waitMs });
      await sleep(retryInMs);
    }
  }
}
