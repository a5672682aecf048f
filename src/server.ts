import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { TransactionCookie } from './auth/transaction';
import type { Config } from './config/config';
import { loadPrivateKey, OAEP_VARIANTS, type OaepVariant } from './crypto/rsa-oaep';
import { Sealer } from './crypto/sealed';
import { Directory } from './directory/directory';
import { createApp } from './http/app';
import { sendError } from './http/respond';
import { findViewsDir, Views } from './http/views';
import { kitRouter } from './kit/router';
import { KitV2Verifier } from './kit/verify';
import { MarketplaceOAuth } from './marketplace/oauth';
import type { Logger } from './observability/logger';
import { createUpstreamProxy } from './proxy/proxy';
import { createSessionLayer } from './sessions/session';
import { SessionService } from './sessions/session-service';
import { MemoryStore } from './store/memory';
import { createRedisClient, RedisStore } from './store/redis';
import type { KeyValueStore } from './store/store';
import { GrantStore } from './tokens/grant-store';
import { TokenRenewal } from './tokens/renewal';
import { loadSeed } from './directory/seed';

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
  const sessions = new SessionService(store, session.store, grants, { idleMs: config.sessionIdleSeconds * 1000, absoluteMs: maxAgeMs }, log);
  const variants: readonly OaepVariant[] = config.oaepVariant === 'auto' ? OAEP_VARIANTS : [config.oaepVariant];
  const kit = kitRouter({
    verifier: new KitV2Verifier({ accessKey: config.kitAccessKey, windowMs: config.kitWindowSeconds * 1000, store }),
    directory,
    appId: config.appId,
    privateKey: loadPrivateKey(config.rsaPrivateKeyPem),
    oaepVariants: variants,
    allowHttpMarketplace: config.allowHttpMarketplace,
    log,
  });
  const proxy = createUpstreamProxy({ target: config.upstreamUrl, log, onError: (req, res, err) => sendError(req, res, views, err, { returnTo: req.originalUrl }) });
  const app = createApp({
    appId: config.appId,
    publicUrl: config.publicUrl,
    loginUrl: config.loginUrl,
    cookieName: config.cookieName,
    cookieSecure: config.cookieSecure,
    trustProxy: config.trustProxy,
    publicPaths: config.publicPaths,
    directory,
    oauth,
    grants,
    sessions,
    tx: new TransactionCookie(config.sessionSecrets, config.cookieSecure),
    views,
    log,
    session: session.middleware,
    store,
    renewal,
    kit,
    proxy,
  });

  const server = createServer(app);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.port, config.host, () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info('koogate listening', { port: addr.port, publicUrl: config.publicUrl.toString(), upstream: config.upstreamUrl.toString(), store: store.kind });
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
      proxy.close();
      await store.close();
    },
  };
}
