import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { TransactionCookie } from './auth/transaction';
import type { Config } from './config/config';
import { loadPrivateKey, OAEP_VARIANTS, type OaepVariant } from './crypto/rsa-oaep';
import { Sealer } from './crypto/sealed';
import { endRevokedSessions, mayLogIn } from './directory/access';
import { Directory } from './directory/directory';
import { adminApi } from './admin/api';
import { directoryApi } from './http/directory-api';
import { createApp } from './http/app';
import { findViewsDir, Views } from './http/views';
import { kitRouter } from './kit/router';
import { KitV1Verifier, KitV2Verifier } from './kit/verify';
import { MarketplaceOAuth } from './marketplace/oauth';
import type { Logger } from './observability/logger';
import { AssertionSigner } from './proxy/assertion';
import { Forwarder } from './proxy/forward';
import { compileTrust } from './proxy/trust';
import { WebSocketRegistry } from './proxy/ws-registry';
import { Gateway } from './http/gateway';
import { publicPathMatcher } from './http/public-paths';
import { SessionAuthenticator } from './sessions/authenticator';
import { SessionCookie } from './sessions/cookie';
import { LocalBus, RedisBus, type InvalidationBus } from './sessions/invalidation';
import { SessionCache } from './sessions/session-cache';
import { TX_COOKIE } from './auth/transaction';
import { createSessionLayer } from './sessions/session';
import { SessionService } from './sessions/session-service';
import { MemoryStore } from './store/memory';
import { createRedisClient, RedisStore } from './store/redis';
import type { KeyValueStore } from './store/store';
import { GrantStore } from './tokens/grant-store';
import { TokenRenewal } from './tokens/renewal';
import { loadSeed } from './directory/seed';
import { Webhook } from './webhook/webhook';

export interface Koogate {
  url: string;
  server: Server;
  store: KeyValueStore;
  directory: Directory;
  sessions: SessionService;
  close(): Promise<void>;
}

/** The composition root: builds every collaborator from one validated Config and starts listening. */
export async function startKoogate(config: Config, log: Logger): Promise<Koogate> {
  let store: KeyValueStore;
  let redis: ReturnType<typeof createRedisClient> | undefined;
  if (config.redis) {
    redis = createRedisClient(config.redis, log.child({ component: 'redis' }));
    await redis.connect();
    store = new RedisStore(redis);
  } else {
    log.warn('no REDIS_URL: sessions and synced tenants are kept in memory; this suits one process only and is lost on restart');
    store = new MemoryStore();
  }

  if (config.cookieSecure && config.trustProxy === false) {
    log.warn('KOOGATE_PUBLIC_URL is https but KOOGATE_TRUST_PROXY is false: client addresses and X-Forwarded-* from your load balancer are not trusted; set KOOGATE_TRUST_PROXY');
  }
  const sealer = Sealer.fromSecrets(config.encryptionSecrets);
  const directory = new Directory(store, sealer);
  if (config.seedFile) {
    const n = await loadSeed(directory, JSON.parse(readFileSync(config.seedFile, 'utf8')), config.appId);
    log.info('seed loaded', { file: config.seedFile, tenants: n });
  }
  const oauth = new MarketplaceOAuth({ timeoutMs: config.marketplaceTimeoutMs, allowHttp: config.allowHttpMarketplace, log });
  const maxAgeMs = config.sessionAbsoluteSeconds * 1000;
  const grants = new GrantStore(store, sealer, { absoluteMs: maxAgeMs, refreshTokenMs: config.refreshTokenLifetimeSeconds * 1000 });
  const renewal = new TokenRenewal(grants, directory, oauth, store, {
    appId: config.appId,
    skewMs: config.renewSkewSeconds * 1000,
    lockLeaseMs: config.renewLockLeaseMs,
    // A waiting replica gives up on another's renewal after what that renewal may take at most.
    waitMs: config.marketplaceTimeoutMs + 2 * config.renewLockLeaseMs,
    log,
  });
  const views = new Views(findViewsDir());
  const session = createSessionLayer({ secrets: config.sessionSecrets, cookieName: config.cookieName, secure: config.cookieSecure, maxAgeMs, redis });
  const bus: InvalidationBus = redis ? await RedisBus.start(redis, log) : new LocalBus();
  const sessions = new SessionService(store, session.store, grants, { idleMs: config.sessionIdleSeconds * 1000, absoluteMs: maxAgeMs }, log, bus);
  const cache = new SessionCache(config.sessionCacheMs);
  const auth = new SessionAuthenticator({
    cookie: new SessionCookie(config.cookieName, config.sessionSecrets, { secure: config.cookieSecure }),
    store: session.store,
    sessions,
    renewal,
    cache,
    // The directory's word on every full check: revocation and role changes reach live sessions.
    access: async (user) => {
      const access = await directory.getUserAccess(user.tenantId, user.userName);
      return { allowed: mayLogIn(config.accessPolicy, access), role: access?.role };
    },
    renewSkewMs: config.renewSkewSeconds * 1000,
    log,
  });
  const sockets = new WebSocketRegistry((cookie) => auth.authenticate(cookie), config.wsRecheckSeconds * 1000, log);
  bus.subscribe((msg) => {
    cache.apply(msg);
    sockets.apply(msg);
  });
  const assertion = config.assertionKeyPem
    ? new AssertionSigner(config.assertionKeyPem, config.publicUrl.origin, config.upstreamUrl.origin, config.assertionTtlSeconds)
    : undefined;
  const variants: readonly OaepVariant[] = config.oaepVariant === 'auto' ? OAEP_VARIANTS : [config.oaepVariant];
  const kitVerify = { accessKey: config.kitAccessKey, windowMs: config.kitWindowSeconds * 1000, store };
  // Applied kit calls reach the app as signed events, queued in the store and posted after the answer.
  const webhook = config.webhook ? new Webhook({ settings: config.webhook, store, log }) : undefined;
  const kit = kitRouter({
    verifier: new KitV2Verifier(kitVerify),
    v1Verifier: new KitV1Verifier(kitVerify),
    directory,
    appId: config.appId,
    privateKey: loadPrivateKey(config.rsaPrivateKeyPem),
    oaepVariants: variants,
    allowHttpMarketplace: config.allowHttpMarketplace,
    log,
    // Revocation: the sessions of users, tenants and credentials that kit sync takes away end at once;
    // a role change reaches every replica's session cache, so the next request carries the new role.
    onAccessChanged: async (change) => {
      await endRevokedSessions(change, sessions);
      if (change.kind === 'users-updated') {
        await Promise.all(change.userNames.map((userName) => bus.publish({ kind: 'user', tenantId: change.tenantId, userName, ended: false })));
      }
    },
    onApplied: webhook ? (call) => webhook.publish(call) : undefined,
  });
  const forwarder = new Forwarder({
    target: config.upstreamUrl,
    responseTimeoutMs: config.upstreamTimeoutMs,
    keepAliveMs: config.upstreamKeepAliveMs,
    maxSockets: config.upstreamMaxSockets,
    log,
  });
  const app = createApp({
    appId: config.appId,
    publicUrl: config.publicUrl,
    loginUrl: config.loginUrl,
    cookieName: config.cookieName,
    cookieSecure: config.cookieSecure,
    trustProxy: config.trustProxy,
    directory,
    accessPolicy: config.accessPolicy,
    oauth,
    grants,
    sessions,
    tx: new TransactionCookie(config.sessionSecrets, config.cookieSecure),
    views,
    log,
    session: session.middleware,
    store,
    kit,
    directoryApi: directoryApi({ directory, appId: config.appId, token: config.apiToken, log }),
    adminApi: adminApi({ token: config.adminToken, log, routes: [] }),
    assertion,
  });
  const gateway = new Gateway({
    own: app,
    auth,
    forwarder,
    sockets,
    isPublic: publicPathMatcher(config.publicPaths),
    ownCookies: [config.cookieName, TX_COOKIE],
    trust: compileTrust(config.trustProxy),
    corsOrigins: config.corsOrigins,
    assertion: assertion ? (user) => assertion.headers(user) : undefined,
    views,
    log,
  });

  const server = createServer(gateway.handle);
  server.on('upgrade', gateway.upgrade);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info('koogate listening', { port: addr.port, publicUrl: config.publicUrl.toString(), upstream: config.upstreamUrl.toString(), store: store.kind });
  webhook?.start();
  return {
    url: `http://${host}:${addr.port}`,
    server,
    store,
    directory,
    sessions,
    async close() {
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      sockets.stop();
      // Before the store closes: attempts cut short are handed back to the queue.
      await webhook?.stop();
      await forwarder.close();
      await bus.close();
      await store.close();
    },
  };
}
