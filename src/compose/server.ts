import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { AccessControl } from '../access/policy';
import { adminApi } from '../admin/api';
import { adminOperations, type AdminState } from '../admin/operations';
import { operationRoutes } from '../admin/routes';
import { TransactionCookie, TX_COOKIE } from '../auth/transaction';
import type { Config } from '../config/config';
import { loadPrivateKey, OAEP_VARIANTS, type OaepVariant } from '../crypto/rsa-oaep';
import { Sealer } from '../crypto/sealed';
import { Directory } from '../directory/directory';
import { loadSeed } from '../directory/seed';
import { directoryApi } from '../http/directory-api';
import { createApp } from '../http/app';
import { Drain } from '../http/drain';
import { Gateway, type GatewayDeps } from '../http/gateway';
import { publicPathMatcher } from '../http/public-paths';
import { findViewsDir, Views } from '../pages/views';
import { basicRouter } from '../basic/router';
import { BasicHook } from '../basic/hook';
import { BasicVerifier } from '../basic/verify';
import { kitRouter, type KitCallApplied } from '../kit/router';
import { KitV1Verifier, KitV2Verifier } from '../kit/verify';
import { MarketplaceOAuth } from '../marketplace/oauth';
import type { Logger } from '../observability/logger';
import { AssertionSigner } from '../proxy/assertion';
import { Forwarder } from '../proxy/forward';
import { compileTrust } from '../proxy/trust';
import { WebSocketRegistry } from '../proxy/ws-registry';
import { SessionAuthenticator } from '../sessions/authenticator';
import { SessionCookie } from '../sessions/cookie';
import { LocalBus, RedisBus, type InvalidationBus } from '../sessions/invalidation';
import { SessionCache } from '../sessions/session-cache';
import { createSessionLayer } from '../sessions/session';
import { SessionService } from '../sessions/session-service';
import { MemoryStore } from '../store/memory';
import { connectAtStart, createRedisClient, RedisStore, storePrefix, type RedisClient } from '../store/redis';
import { RateLimits } from '../http/rate-limits';
import type { KeyValueStore } from '../store/store';
import { GrantStore } from '../tokens/grant-store';
import { TokenRenewal } from '../tokens/renewal';
import { Webhook } from '../webhook/webhook';
import type { Health } from '../core/health';
import { VERSION } from '../core/version';
import { storeHealth } from '../store/health';
import { WorkerLink, type PrimaryChannel } from '../cluster/worker';
import { WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE } from '../webhook/delivery';
import { Metrics } from '../observability/metrics';
import { startMetricsListener, type MetricsListener } from '../observability/metrics-server';
import { RequestTracker } from '../observability/requests';
import { SealedKeyAlarm } from '../observability/sealed-keys';
import { usageRoutes } from '../admin/usage';
import { Outbound } from '../outbound/outbound';
import { USAGE_QUEUE, USAGE_SOLO_QUEUE } from '../outbound/usage-ledger';

export interface Koogate {
  url: string;
  server: Server;
  store: KeyValueStore;
  directory: Directory;
  sessions: SessionService;
  metrics: Metrics;
  /** The metrics listener's port, when KOOGATE_METRICS_PORT turned it on. */
  metricsPort?: number;
  /**
   * Graceful shutdown, in this order: readyz answers 503; the listener stops accepting and idle
   * keep-alive connections close; in-flight requests and streams finish for up to `graceMs`
   * (KOOGATE_SHUTDOWN_GRACE_SECONDS); websockets are closed with 1001; then the rest is released.
   */
  close(graceMs?: number): Promise<void>;
  /** KOOGATE_SHUTDOWN_GRACE_SECONDS in ms: what close() waits for in-flight requests at most. */
  shutdownGraceMs: number;
}

export interface StartOptions {
  /** Set in a worker of KOOGATE_WORKERS > 1: its cluster id. Health then speaks for the whole process. */
  workerId?: number;
}

/** The composition root: builds every collaborator from one validated Config and starts listening. */
export async function startKoogate(config: Config, log: Logger, opts: StartOptions = {}): Promise<Koogate> {
  warnOfUntrustedProxy(config, log);
  const metrics = new Metrics();
  const { store, redis } = await buildStore(config, log, metrics);
  // A value sealed under a key that is not configured is logged once and fails readiness (operator's error).
  const keyAlarm: SealedKeyAlarm = new SealedKeyAlarm(log, () => sealer.keyIds);
  const sealer = Sealer.fromSecrets(config.encryptionSecrets, { onUnknownKey: (keyId) => keyAlarm.note(keyId) });
  const directory = await buildDirectory(config, store, sealer, log);
  const tokens = buildTokens(config, store, sealer, directory, log, metrics);
  const sessions = await buildSessions(config, store, redis, tokens, log, metrics);
  const access = new AccessControl({
    rule: config.accessPolicy,
    directory: { getUserAccess: (t, u) => directory.getUserAccess(t, u), subscriptionOf: (t) => directory.subscriptionOf(t, config.appId) },
    sessions: sessions.service,
    notify: (msg) => sessions.bus.publish(msg),
  });
  const request = buildRequestPath(config, sessions, tokens, access, log, metrics);
  const webhook = buildWebhook(config, store, log, metrics);
  const kit = buildKitRouter(config, store, directory, access, webhook, log, metrics);
  const outbound = buildOutbound(config, store, directory, webhook, log, metrics);
  const usage = outbound.usageIntake();
  const basic = buildBasicRouter(config, store, directory, access, webhook, outbound, log, metrics);
  const health = buildHealth(store, opts.workerId, log, keyAlarm, metrics);
  const refusedByLimit = metrics.counter('rate_limited_total', 'Requests refused by a rate limit (429), by limit: login, api, kit.', ['limit']);
  const limits = new RateLimits({ rates: config.rateLimits, redis, prefix: redis ? storePrefix(redis) : '', log, onRefused: (limit) => refusedByLimit.inc({ limit }) });
  const drain = new Drain();
  const app = createApp({
    appId: config.appId,
    publicUrl: config.publicUrl,
    loginUrl: config.loginUrl,
    cookieName: config.cookieName,
    cookieSecure: config.cookieSecure,
    trustProxy: config.trustProxy,
    directory,
    access,
    oauth: tokens.oauth,
    grants: tokens.grants,
    sessions: sessions.service,
    tx: new TransactionCookie(config.sessionSecrets, config.cookieSecure),
    views: request.views,
    brandLogoUrl: config.pages.brandLogoUrl,
    unknownTenantLogoutUrl: config.pages.marketplaceLogoutUrl,
    log,
    metrics,
    session: sessions.middleware,
    health: health.answer,
    kit,
    basic,
    producePath: config.producePath,
    limits: { login: limits.middleware('login'), kit: limits.middleware('kit') },
    directoryApi: directoryApi({ directory, appId: config.appId, token: config.apiToken, log, limit: limits.middleware('api'), orderDetails: (ids) => outbound.orderOf(ids) }),
    adminApi: adminApi({
      token: config.adminToken,
      log,
      limit: limits.middleware('api'),
      routes: [operationRoutes(adminOperations({ store, directory, sessions: sessions.service, grants: tokens.grants }, config.appId)), ...(usage ? [usageRoutes(usage)] : [])],
    }),
    assertion: request.assertion,
    draining: () => drain.isDraining,
  });
  const gateway = new Gateway({ ...request.gateway, own: app });
  logProductionAddress(config, log);
  const { server, url } = await listen(config, gateway, drain, log, !health.worker);
  webhook?.start();
  // A worker opens no metrics port: its primary serves every worker's series, summed, on the one listener.
  const metricsListener: MetricsListener | undefined =
    config.metrics && opts.workerId === undefined ? await startMetricsListener(metrics, config.metrics.port, config.metrics.host, log) : undefined;
  outbound.start();
  return {
    url,
    server,
    store,
    directory,
    sessions: sessions.service,
    metrics,
    metricsPort: metricsListener?.port,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
    async close(graceMs = config.shutdownGraceSeconds * 1000) {
      const closed = new Promise<void>((ok) => server.once('close', () => ok()));
      const settling = drain.settle(server, graceMs);
      log.info('draining: no new connections', { inFlight: drain.inFlight, graceMs });
      const finished = await settling;
      if (!finished) log.warn('shutdown grace period over: cutting requests still in flight', { inFlight: drain.inFlight, graceMs });
      // A peer that does not answer the close frame gets a second at most.
      await request.sockets.goAway(1000);
      server.closeAllConnections();
      await closed;
      await metricsListener?.close();
      request.sockets.stop();
      health.worker?.stop();
      // Before the store closes: attempts cut short are handed back to the queue.
      await webhook?.stop();
      await outbound.stop();
      await request.forwarder.close();
      await sessions.bus.close();
      await store.close();
    },
  };
}

/**
 * koogate's calls to KooGallery: order details of the instances basic calls announce (AK/SK), usage
 * records the app posts (basic access key). A read order reaches the app as an `orderDetails` event.
 */
function buildOutbound(config: Config, store: KeyValueStore, directory: Directory, webhook: Webhook | undefined, log: Logger, metrics: Metrics): Outbound {
  const records = metrics.counter('usage_records_total', 'Usage records reaching a state: queued (taken from the app), accepted, rejected or duplicate (at intake or at the marketplace).', ['state']);
  const atRisk = metrics.gauge('usage_records_at_risk', 'Usage records still waiting at half their deadline (at_risk) or past it (late), by period, as this replica\'s last check found them.', ['period', 'level'], undefined, 'shared');
  const orders = metrics.counter('order_queries_total', 'Order queries by outcome: fetched, retried (no order yet, or no answer), failed (given up after a day).', ['outcome']);
  const size = (...queues: string[]) => async (g: { set(v: number): void }) => {
    const sizes = await Promise.all(queues.map((q) => store.queueSize(q))).catch(() => [Number.NaN]);
    g.set(sizes.reduce((a, b) => a + b, 0));
  };
  if (config.basicAccessKey) metrics.gauge('usage_queue_depth', 'Usage records waiting to be pushed or pushed again (the shared queues).', [], size(USAGE_QUEUE, USAGE_SOLO_QUEUE), 'shared');
  return new Outbound({
    settings: config.outbound,
    basicKey: config.basicAccessKey,
    timeoutMs: config.marketplaceTimeoutMs,
    store,
    log,
    instanceKnown: async (id) => (await directory.instances.get(id)) !== null,
    events: {
      usageRecords: (state, n) => records.inc({ state }, n),
      usageDeadlines: (counts) => {
        for (const [period, levels] of Object.entries(counts)) for (const [level, n] of Object.entries(levels)) atRisk.set({ period, level }, n);
      },
      orderQuery: (outcome) => orders.inc({ outcome }),
    },
    onOrderFetched: webhook ? (instanceId, order) => webhook.publish({ iface: 'orderDetails', generation: 'v2', body: { instanceId, order }, receivedAt: Date.now() }) : undefined,
  });
}

function warnOfUntrustedProxy(config: Config, log: Logger): void {
  if (config.cookieSecure && config.trustProxy === false) {
    log.warn('KOOGATE_PUBLIC_URL is https but KOOGATE_TRUST_PROXY is false: client addresses and X-Forwarded-* from your load balancer are not trusted; set KOOGATE_TRUST_PROXY');
  }
}

/** The shared store: Redis when configured, else memory (one process only). */
async function buildStore(config: Config, log: Logger, metrics: Metrics): Promise<{ store: KeyValueStore; redis?: RedisClient }> {
  if (!config.redis) {
    log.warn('no REDIS_URL: sessions and synced tenants are kept in memory; this suits one process only and is lost on restart');
    return { store: new MemoryStore() };
  }
  const redisLog = log.child({ component: 'redis' });
  const redis = createRedisClient(config.redis, redisLog);
  await connectAtStart(redis, config.redis, config.storeWaitSeconds * 1000, redisLog);
  const store = new RedisStore(redis);
  store.onFailure = () => metrics.storeError();
  return { store, redis };
}

/** What the admin commands act on: the shared store and the services over it, without serving anything. */
export interface SharedState extends AdminState {
  close(): Promise<void>;
}

/** Opens the configured store as koogate's replicas see it (admin commands: `koogate sessions …`). */
export async function openSharedState(config: Config, log: Logger): Promise<SharedState> {
  // A command's own counters, never exported: it serves no metrics.
  const metrics = new Metrics();
  const { store, redis } = await buildStore(config, log, metrics);
  const sealer = Sealer.fromSecrets(config.encryptionSecrets);
  const directory = new Directory(store, sealer);
  const tokens = buildTokens(config, store, sealer, directory, log, metrics);
  const sessions = await buildSessions(config, store, redis, tokens, log, metrics);
  return {
    store,
    directory,
    grants: tokens.grants,
    sessions: sessions.service,
    async close() {
      await sessions.bus.close();
      await store.close();
    },
  };
}

/** Tenants, credentials and users; the seed file, when one is configured, is loaded first. */
async function buildDirectory(config: Config, store: KeyValueStore, sealer: Sealer, log: Logger): Promise<Directory> {
  const directory = new Directory(store, sealer);
  if (config.seedFile) {
    const n = await loadSeed(directory, JSON.parse(readFileSync(config.seedFile, 'utf8')), config.appId);
    log.info('seed loaded', { file: config.seedFile, tenants: n });
  }
  return directory;
}

interface Tokens {
  oauth: MarketplaceOAuth;
  grants: GrantStore;
  renewal: TokenRenewal;
}

/** The marketplace's OAuth client, the sealed grant records and their renewal. */
function buildTokens(config: Config, store: KeyValueStore, sealer: Sealer, directory: Directory, log: Logger, metrics: Metrics): Tokens {
  const oauth = new MarketplaceOAuth({ timeoutMs: config.marketplaceTimeoutMs, allowHttp: config.allowHttpMarketplace, log, metrics });
  const grants = new GrantStore(store, sealer, {
    absoluteMs: config.sessionAbsoluteSeconds * 1000,
    refreshTokenMs: config.refreshTokenLifetimeSeconds * 1000,
  });
  const renewal = new TokenRenewal(grants, directory, oauth, store, {
    appId: config.appId,
    skewMs: config.renewSkewSeconds * 1000,
    lockLeaseMs: config.renewLockLeaseMs,
    // A waiting replica gives up on another's renewal after what that renewal may take at most.
    waitMs: config.marketplaceTimeoutMs + 2 * config.renewLockLeaseMs,
    log,
    metrics,
  });
  return { oauth, grants, renewal };
}

interface Sessions {
  service: SessionService;
  middleware: ReturnType<typeof createSessionLayer>['middleware'];
  store: ReturnType<typeof createSessionLayer>['store'];
  bus: InvalidationBus;
}

/** express-session for koogate's own routes, the session service, and the bus that tells every replica. */
async function buildSessions(config: Config, store: KeyValueStore, redis: RedisClient | undefined, tokens: Tokens, log: Logger, metrics: Metrics): Promise<Sessions> {
  const absoluteMs = config.sessionAbsoluteSeconds * 1000;
  const layer = createSessionLayer({ secrets: config.sessionSecrets, cookieName: config.cookieName, secure: config.cookieSecure, maxAgeMs: absoluteMs, redis });
  const bus: InvalidationBus = redis ? await RedisBus.start(redis, log) : new LocalBus();
  const service = new SessionService(store, layer.store, tokens.grants, { idleMs: config.sessionIdleSeconds * 1000, absoluteMs }, log, bus, metrics);
  return { service, middleware: layer.middleware, store: layer.store, bus };
}

interface RequestPath {
  views: Views;
  assertion?: AssertionSigner;
  sockets: WebSocketRegistry;
  forwarder: Forwarder;
  gateway: Omit<GatewayDeps, 'own'>;
}

/**
 * Everything a proxied request meets: the session check (cached, invalidated by the bus), the forwarder,
 * the websocket registry and the signed assertion. The gateway's own app is added by the caller.
 */
function buildRequestPath(config: Config, sessions: Sessions, tokens: Tokens, access: AccessControl, log: Logger, metrics: Metrics): RequestPath {
  const cache = new SessionCache(config.sessionCacheMs);
  const auth = new SessionAuthenticator({
    cookie: new SessionCookie(config.cookieName, config.sessionSecrets, { secure: config.cookieSecure }),
    store: sessions.store,
    sessions: sessions.service,
    renewal: tokens.renewal,
    cache,
    // The directory's word on every full check: revocation and role changes reach live sessions.
    access: (user) => access.check(user.tenantId, user.userName),
    renewSkewMs: config.renewSkewSeconds * 1000,
    log,
    metrics,
  });
  const sockets = new WebSocketRegistry((cookie) => auth.authenticate(cookie), config.wsRecheckSeconds * 1000, log);
  sessions.bus.subscribe((msg) => {
    cache.apply(msg);
    sockets.apply(msg);
  });
  metrics.gauge('websockets_open', 'Websockets (and other upgrades) open through this replica.', [], (g) => g.set(sockets.size));
  const trust = compileTrust(config.trustProxy);
  const assertion = config.assertionKeyPem
    ? new AssertionSigner(config.assertionKeyPem, config.publicUrl.origin, config.upstream.url.origin, config.assertionTtlSeconds)
    : undefined;
  const forwarder = new Forwarder({ upstream: config.upstream, log });
  const views = new Views(findViewsDir(), { customDir: config.pages.viewsDir, brand: { name: config.pages.brandName, logoUrl: config.pages.brandLogoUrl?.toString() }, log });
  return {
    views,
    assertion,
    sockets,
    forwarder,
    gateway: {
      auth,
      forwarder,
      sockets,
      isPublic: publicPathMatcher(config.publicPaths),
      producePath: config.producePath,
      ownCookies: [config.cookieName, TX_COOKIE],
      trust,
      corsOrigins: config.corsOrigins,
      wsOrigins: new Set([config.publicUrl.origin, ...config.wsOrigins]),
      assertion: assertion ? (user) => assertion.headers(user) : undefined,
      views,
      requests: new RequestTracker({ metrics, accessLog: config.accessLog ? log.child({ log: 'access' }) : undefined, trusted: (addr) => trust(addr, 0), log }),
      log,
    },
  };
}

/** The webhook to the app, when configured; its queue depth and dead letters are read at each scrape. */
function buildWebhook(config: Config, store: KeyValueStore, log: Logger, metrics: Metrics): Webhook | undefined {
  if (!config.webhook) return undefined;
  // From the shared store: every replica reports the one queue.
  const size = (queue: string) => async (g: { set(v: number): void }) => g.set(await store.queueSize(queue).catch(() => Number.NaN));
  metrics.gauge('webhook_queue_depth', 'Webhook events waiting for delivery or a retry (the shared queue).', [], size(WEBHOOK_QUEUE), 'shared');
  metrics.gauge('webhook_dead_letters', 'Webhook events given up on and kept in the dead letters (the newest 1000).', [], size(WEBHOOK_DEAD_LETTERS), 'shared');
  return new Webhook({ settings: config.webhook, store, log, metrics });
}

/** Kit sync: verified, decrypted, applied; access changes followed, applied calls queued for the webhook. */
function buildKitRouter(config: Config, store: KeyValueStore, directory: Directory, access: AccessControl, webhook: Webhook | undefined, log: Logger, metrics: Metrics): ReturnType<typeof kitRouter> {
  const variants: readonly OaepVariant[] = config.oaepVariant === 'auto' ? OAEP_VARIANTS : [config.oaepVariant];
  const kitVerify = { accessKey: config.kitAccessKey, windowMs: config.kitWindowSeconds * 1000, store };
  return kitRouter({
    verifier: new KitV2Verifier(kitVerify),
    v1Verifier: new KitV1Verifier(kitVerify),
    directory,
    appId: config.appId,
    privateKey: loadPrivateKey(config.rsaPrivateKeyPem),
    oaepVariants: variants,
    allowHttpMarketplace: config.allowHttpMarketplace,
    log,
    metrics,
    onAccessChanged: (change) => access.follow(change),
    // Applied kit calls reach the app as signed events, queued in the store and posted after the answer.
    onApplied: webhook ? (call) => webhook.publish(call) : undefined,
  });
}

/** The basic interfaces at the production address: their own key, the app's optional hook, access and webhook as for kit calls. */
function buildBasicRouter(
  config: Config,
  store: KeyValueStore,
  directory: Directory,
  access: AccessControl,
  webhook: Webhook | undefined,
  outbound: Outbound,
  log: Logger,
  metrics: Metrics,
): ReturnType<typeof basicRouter> {
  return basicRouter({
    verifier: new BasicVerifier({ accessKey: config.basicAccessKey, windowMs: config.kitWindowSeconds * 1000, store }),
    directory,
    appId: config.appId,
    frontEndUrl: config.frontEndUrl,
    hook: config.basicHook ? new BasicHook(config.basicHook, log) : undefined,
    log,
    metrics,
    onAccessChanged: (change) => access.follow(change),
    // The app hears of the call; a new, renewed or upgraded instance's order is queued for reading.
    onApplied: async (call: KitCallApplied) => {
      await Promise.all([webhook?.publish(call), outbound.basicCallApplied(call.iface, call.body as Record<string, string | undefined>)]);
    },
  });
}

/** The production address the merchant registers; basic interfaces off without their key. */
function logProductionAddress(config: Config, log: Logger): void {
  const url = new URL(config.producePath, config.publicUrl).toString();
  log.info('production address to register in the seller console', { url, kitCalls: `${url}/produceAPI/v2/<interface>` });
  if (!config.basicAccessKey) {
    log.warn('basic interfaces are off: KOOGATE_BASIC_ACCESS_KEY is not set, so newInstance and the other instance calls answer 000001', { url });
  }
}

/** healthz/readyz: this process's own, or (in a worker) the whole cluster's, asked of the primary; a worker's metrics go to the primary. */
function buildHealth(store: KeyValueStore, workerId: number | undefined, log: Logger, keyAlarm: SealedKeyAlarm, metrics: Metrics): { answer: Health; worker?: WorkerLink } {
  const own = keyAlarm.guard(storeHealth(store, log));
  if (workerId === undefined) return { answer: own };
  const worker = new WorkerLink({ workerId, local: own, storeKind: store.kind, channel: process as unknown as PrimaryChannel, metrics: () => metrics.snapshot() });
  worker.start();
  return { answer: worker.health, worker };
}

async function listen(config: Config, gateway: Gateway, drain: Drain, log: Logger, announce: boolean): Promise<{ server: Server; url: string }> {
  // One 'request' listener: with two, every request's emit would copy the listener array first.
  const server = createServer((req, res) => {
    drain.track(req, res);
    gateway.handle(req, res);
  });
  server.on('upgrade', gateway.upgrade);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  // A worker's primary says this once for all of them.
  if (announce) log.info('koogate listening', { port: addr.port, ...describe(config) });
  return { server, url: `http://${host}:${addr.port}` };
}

/** What the start-up line says of a deployment (never a secret). */
export function describe(config: Config): Record<string, string> {
  return { version: VERSION, publicUrl: config.publicUrl.toString(), upstream: config.upstream.url.toString(), store: config.redis ? 'redis' : 'memory' };
}
