import { readFileSync } from 'node:fs';
import { ACCESS_POLICIES, type AccessPolicy } from '../directory/access';

/** The real KooGallery unified login page; `{appId}` is replaced by the configured app id. */
export const DEFAULT_LOGIN_URL = 'https://macroverse.huaweicloud.com/unified-login/#/portal-login?ind=UNOP&appId={appId}';

export type OaepSetting = 'auto' | 'sha256-mgf1sha1' | 'sha1' | 'sha256';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One validated configuration object; nothing else in koogate reads the environment. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where the shared store lives: one server, a Sentinel-managed primary, or a Cluster. */
export type RedisSettings =
  | { mode: 'single'; url: string }
  | { mode: 'sentinel'; sentinels: RedisNode[]; masterName: string; username?: string; password?: string; sentinelPassword?: string; tls: boolean }
  | { mode: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls: boolean };

/** Where applied kit calls go as signed events (the app's webhook endpoint), and how hard koogate tries. */
export interface WebhookSettings {
  url: URL;
  /** Every one signs each delivery, so the app can rotate: the first is current. */
  secrets: string[];
  timeoutMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  maxAgeSeconds: number;
}

export interface Config {
  port: number;
  host: string;
  publicUrl: URL;
  upstreamUrl: URL;
  appId: string;
  loginUrl: string;
  kitAccessKey: string;
  rsaPrivateKeyPem: string;
  oaepVariant: OaepSetting;
  sessionSecrets: string[];
  encryptionSecrets: string[];
  redis?: RedisSettings;
  cookieName: string;
  cookieSecure: boolean;
  trustProxy: boolean | number | string;
  renewSkewSeconds: number;
  marketplaceTimeoutMs: number;
  allowHttpMarketplace: boolean;
  kitWindowSeconds: number;
  accessPolicy: AccessPolicy;
  /** Bearer token of the directory API; the API is off without one. */
  apiToken?: string;
  /** Bearer token of the admin API; the API is off without one. Never equal to apiToken. */
  adminToken?: string;
  publicPaths: string[];
  sessionAbsoluteSeconds: number;
  sessionIdleSeconds: number;
  refreshTokenLifetimeSeconds: number;
  renewLockLeaseMs: number;
  sessionCacheMs: number;
  upstreamTimeoutMs: number;
  upstreamKeepAliveMs: number;
  upstreamMaxSockets: number;
  corsOrigins: string[];
  wsRecheckSeconds: number;
  assertionKeyPem?: string;
  assertionTtlSeconds: number;
  /** Off without KOOGATE_WEBHOOK_URL. */
  webhook?: WebhookSettings;
  seedFile?: string;
  logLevel: LogLevel;
}

export interface SettingSpec {
  env: string;
  required?: boolean;
  default?: string;
  meaning: string;
}

/**
 * Every setting koogate reads. The README's configuration table mirrors this list (a unit test keeps them
 * in step), so an operator finds each variable, its default and its meaning in one place.
 */
export const SETTINGS: readonly SettingSpec[] = [
  { env: 'PORT', default: '8080', meaning: 'TCP port koogate listens on.' },
  { env: 'KOOGATE_HOST', default: '0.0.0.0', meaning: 'Interface koogate binds to.' },
  { env: 'KOOGATE_PUBLIC_URL', required: true, meaning: 'External base URL of koogate as browsers see it (https://app.example.com); the callback is `<this>/_koogate/callback`.' },
  { env: 'KOOGATE_UPSTREAM_URL', required: true, meaning: 'Base URL of the ISV app that koogate proxies to.' },
  { env: 'KOOGATE_APP_ID', required: true, meaning: 'The app credential id (appId) from the KooGallery seller console.' },
  { env: 'KOOGATE_LOGIN_URL', default: DEFAULT_LOGIN_URL, meaning: 'Unified login URL; `{appId}` is replaced by KOOGATE_APP_ID.' },
  { env: 'KOOGATE_KIT_ACCESS_KEY', required: true, meaning: 'Kit access key ("key management" in the seller console) that verifies kit-sync signatures.' },
  { env: 'KOOGATE_RSA_PRIVATE_KEY', meaning: 'Merchant RSA private key (PEM, PKCS#8 or PKCS#1) that decrypts clientSecret. This or the _FILE variant is required.' },
  { env: 'KOOGATE_RSA_PRIVATE_KEY_FILE', meaning: 'Path of a file holding the RSA private key PEM (preferred over the variable: keeps the key out of the environment).' },
  { env: 'KOOGATE_OAEP_VARIANT', default: 'auto', meaning: 'RSA-OAEP variant of clientSecret: auto (try sha256-mgf1sha1, sha1, sha256 and log the one that worked) or one of them to pin it.' },
  { env: 'KOOGATE_SESSION_SECRET', required: true, meaning: 'Secret that signs session cookies; comma-separated list to rotate (first signs, all verify). At least 32 characters.' },
  { env: 'KOOGATE_ENCRYPTION_KEYS', meaning: 'Secrets for encryption at rest (client secrets, tokens); comma-separated, first encrypts, all decrypt. Default: derived from KOOGATE_SESSION_SECRET.' },
  { env: 'REDIS_URL', meaning: 'redis:// or rediss:// URL of the shared store. Absent: in-memory store (one process only; sessions and synced tenants are lost on restart).' },
  { env: 'REDIS_SENTINELS', meaning: 'Instead of REDIS_URL: comma-separated host:port of Redis Sentinels; koogate follows the primary they name.' },
  { env: 'REDIS_SENTINEL_MASTER', default: 'mymaster', meaning: 'With REDIS_SENTINELS: the monitored primary\'s name.' },
  { env: 'REDIS_SENTINEL_PASSWORD', meaning: 'With REDIS_SENTINELS: password of the Sentinels themselves, when they require one.' },
  { env: 'REDIS_CLUSTER_NODES', meaning: 'Instead of REDIS_URL: comma-separated host:port of some Redis Cluster nodes (the rest are discovered).' },
  { env: 'REDIS_USERNAME', meaning: 'With REDIS_SENTINELS or REDIS_CLUSTER_NODES: ACL user name (with REDIS_URL put it in the URL).' },
  { env: 'REDIS_PASSWORD', meaning: 'With REDIS_SENTINELS or REDIS_CLUSTER_NODES: password of the Redis servers (with REDIS_URL put it in the URL).' },
  { env: 'REDIS_TLS', default: 'false', meaning: 'With REDIS_SENTINELS or REDIS_CLUSTER_NODES: connect with TLS (with REDIS_URL use rediss://).' },
  { env: 'KOOGATE_COOKIE_NAME', default: 'koogate.sid', meaning: 'Name of the session cookie.' },
  { env: 'KOOGATE_COOKIE_SECURE', default: 'auto', meaning: 'Mark cookies Secure: auto (when KOOGATE_PUBLIC_URL is https), true or false.' },
  { env: 'KOOGATE_TRUST_PROXY', default: 'false', meaning: "Express 'trust proxy' value when koogate runs behind a load balancer or TLS terminator (true, a hop count, or addresses)." },
  { env: 'KOOGATE_RENEW_SKEW_SECONDS', default: '120', meaning: 'Renew the access token when it expires within this many seconds.' },
  { env: 'KOOGATE_MARKETPLACE_TIMEOUT_MS', default: '5000', meaning: 'Timeout of each call to the marketplace (token, userinfo).' },
  { env: 'KOOGATE_ALLOW_HTTP_MARKETPLACE', default: 'false', meaning: 'Allow tenants whose identity domain is plain http:// (only for local stand-ins and tests).' },
  { env: 'KOOGATE_KIT_WINDOW_SECONDS', default: '60', meaning: 'Accepted clock difference of kit-sync x-timestamp (V2) and body timeStamp (V1); nonces are remembered this long.' },
  { env: 'KOOGATE_ACCESS_POLICY', default: 'authorized', meaning: 'Who may log in: authorized (only users that authSync authorized and enabled for the tenant) or tenant (any user of a synced tenant, except users authSync cancelled or disabled; for early testing).' },
  { env: 'KOOGATE_API_TOKEN', meaning: 'Bearer token of the read-only directory API under /_koogate/api/ (at least 32 characters). Unset: the API answers 404.' },
  { env: 'KOOGATE_ADMIN_TOKEN', meaning: 'Bearer token of the admin API under /_koogate/admin/ (sessions, dead letters, re-sealing; at least 32 characters, different from KOOGATE_API_TOKEN). Unset: the admin API answers 404.' },
  { env: 'KOOGATE_PUBLIC_PATHS', default: '', meaning: 'Comma-separated paths served without login (`/health` exact, `/static/*` prefix). Identity headers are still stripped, and set when a session exists.' },
  { env: 'KOOGATE_SESSION_MAX_AGE_SECONDS', default: '2592000', meaning: 'Absolute session lifetime from login (30 days). A session also ends when its refresh token can no longer renew.' },
  { env: 'KOOGATE_SESSION_IDLE_SECONDS', default: '28800', meaning: 'A session unused this long ends (8 hours). The cookie and the Redis TTL follow it.' },
  { env: 'KOOGATE_REFRESH_TOKEN_LIFETIME_SECONDS', default: '2592000', meaning: 'Refresh token lifetime assumed when the token answer carries no refresh_expires_in (30 days, as documented).' },
  { env: 'KOOGATE_RENEW_LOCK_LEASE_MS', default: '5000', meaning: 'Initial lease of the cross-replica renewal lock; extended while the refresh grant is in flight.' },
  { env: 'KOOGATE_SESSION_CACHE_MS', default: '1000', meaning: 'How long a replica answers a session from memory before checking the store again (0: every request). Logout and revocation reach every replica at once by Redis pub/sub; this bounds a missed message.' },
  { env: 'KOOGATE_UPSTREAM_TIMEOUT_MS', default: '60000', meaning: 'The app must start answering (status and headers) within this, else 504; 0: no limit. Bodies, server-sent events and long polls then stream for as long as they take.' },
  { env: 'KOOGATE_UPSTREAM_KEEPALIVE_MS', default: '30000', meaning: 'Idle keep-alive connections to the app are closed after this; 0 turns keep-alive off.' },
  { env: 'KOOGATE_UPSTREAM_MAX_SOCKETS', default: '256', meaning: 'At most this many connections to the app at once.' },
  { env: 'KOOGATE_CORS_ORIGINS', default: '', meaning: 'Comma-separated origins (https://app.example.com) allowed to read koogate\'s 401 answers to their fetch calls.' },
  { env: 'KOOGATE_WS_RECHECK_SECONDS', default: '30', meaning: 'How often open websockets are re-checked against their session (expiry); logout and revocation close them at once.' },
  { env: 'KOOGATE_ASSERTION_KEY', meaning: 'EC P-256 private key (PEM) that signs an ES256 JWT in X-Koogate-Assertion on every proxied request; the public key is at /_koogate/jwks.json. Unset: no assertion.' },
  { env: 'KOOGATE_ASSERTION_KEY_FILE', meaning: 'Path of a file holding KOOGATE_ASSERTION_KEY.' },
  { env: 'KOOGATE_ASSERTION_TTL_SECONDS', default: '60', meaning: 'Lifetime of the assertion JWT.' },
  { env: 'KOOGATE_WEBHOOK_URL', meaning: 'URL of the app\'s endpoint that receives every applied kit call as a signed JSON POST (see "Webhook to your app"). Unset: no webhook.' },
  { env: 'KOOGATE_WEBHOOK_SECRET', meaning: 'Secret that signs each webhook delivery (X-Koogate-Signature); at least 32 characters, required with KOOGATE_WEBHOOK_URL. Comma-separated to rotate: each one signs.' },
  { env: 'KOOGATE_WEBHOOK_TIMEOUT_MS', default: '10000', meaning: 'The app must answer a delivery within this, else it is retried.' },
  { env: 'KOOGATE_WEBHOOK_RETRY_BASE_MS', default: '1000', meaning: 'Delay before the first retry; each further retry doubles it, up to 300 times it (5 minutes), with jitter.' },
  { env: 'KOOGATE_WEBHOOK_MAX_ATTEMPTS', default: '500', meaning: 'An event that failed this many attempts goes to the dead letters.' },
  { env: 'KOOGATE_WEBHOOK_MAX_AGE_SECONDS', default: '86400', meaning: 'An event still failing this long after it was queued goes to the dead letters (a day).' },
  { env: 'KOOGATE_SEED_FILE', meaning: 'JSON file of tenants, app credentials and authorized users loaded at start (development and tests; production data arrives by kit sync).' },
  { env: 'KOOGATE_LOG_LEVEL', default: 'info', meaning: 'debug, info, warn or error. Logs are JSON lines on stdout.' },
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`koogate configuration is incomplete or invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** True when the environment sets none of the settings a real deployment needs. */
export function isUnconfigured(env: Env): boolean {
  return SETTINGS.filter((s) => s.required || s.env.startsWith('KOOGATE_RSA_PRIVATE_KEY')).every((s) => !nonEmpty(env[s.env]));
}

function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

/** Parses and validates the environment; throws one ConfigError that names every problem at once. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const spec = SETTINGS.find((s) => s.env === name);
    const v = env[name];
    if (nonEmpty(v)) return v.trim();
    if (spec?.required) problems.push(`${name} is required: ${spec.meaning}`);
    return spec?.default;
  };
  const int = (name: string, min: number, max: number): number => {
    const raw = read(name) ?? '';
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return min;
    }
    return n;
  };
  const bool = (name: string): boolean => {
    const raw = (read(name) ?? 'false').toLowerCase();
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return false;
  };
  const url = (name: string): URL => {
    const raw = read(name);
    if (raw === undefined) return new URL('http://invalid.invalid');
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return u;
    } catch {
      problems.push(`${name} must be an absolute http(s) URL (got "${raw}")`);
      return new URL('http://invalid.invalid');
    }
  };

  const port = int('PORT', 0, 65535);
  const host = read('KOOGATE_HOST') ?? '0.0.0.0';
  const publicUrl = url('KOOGATE_PUBLIC_URL');
  const upstreamUrl = url('KOOGATE_UPSTREAM_URL');
  const appId = read('KOOGATE_APP_ID') ?? '';
  const loginUrl = (read('KOOGATE_LOGIN_URL') ?? DEFAULT_LOGIN_URL).replaceAll('{appId}', encodeURIComponent(appId));
  const kitAccessKey = read('KOOGATE_KIT_ACCESS_KEY') ?? '';

  let rsaPrivateKeyPem = '';
  const keyFile = env.KOOGATE_RSA_PRIVATE_KEY_FILE;
  if (nonEmpty(env.KOOGATE_RSA_PRIVATE_KEY)) {
    rsaPrivateKeyPem = env.KOOGATE_RSA_PRIVATE_KEY.replace(/\\n/g, '\n');
  } else if (nonEmpty(keyFile)) {
    try {
      rsaPrivateKeyPem = readFileSync(keyFile.trim(), 'utf8');
    } catch (e) {
      problems.push(`KOOGATE_RSA_PRIVATE_KEY_FILE cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${keyFile})`);
    }
  } else {
    problems.push('KOOGATE_RSA_PRIVATE_KEY or KOOGATE_RSA_PRIVATE_KEY_FILE is required: the merchant RSA private key that decrypts clientSecret.');
  }
  if (rsaPrivateKeyPem && !/-----BEGIN (RSA )?PRIVATE KEY-----/.test(rsaPrivateKeyPem)) {
    problems.push('the RSA private key must be a PEM "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY" (PKCS#1)');
  }

  const oaep = read('KOOGATE_OAEP_VARIANT') ?? 'auto';
  if (!['auto', 'sha256-mgf1sha1', 'sha1', 'sha256'].includes(oaep)) {
    problems.push(`KOOGATE_OAEP_VARIANT must be auto, sha256-mgf1sha1, sha1 or sha256 (got "${oaep}")`);
  }

  const sessionSecrets = splitList(read('KOOGATE_SESSION_SECRET'));
  if (sessionSecrets.some((s) => s.length < 32)) problems.push('KOOGATE_SESSION_SECRET: each secret must be at least 32 characters');
  if (nonEmpty(env.KOOGATE_SESSION_SECRET) && sessionSecrets.length === 0) problems.push('KOOGATE_SESSION_SECRET holds no secret, only separators');
  const encryptionSecrets = splitList(read('KOOGATE_ENCRYPTION_KEYS'));
  if (encryptionSecrets.some((s) => s.length < 32)) problems.push('KOOGATE_ENCRYPTION_KEYS: each key must be at least 32 characters');

  const redis = readRedis(read, bool, problems);

  const secureRaw = (read('KOOGATE_COOKIE_SECURE') ?? 'auto').toLowerCase();
  let cookieSecure = publicUrl.protocol === 'https:';
  if (secureRaw !== 'auto') cookieSecure = bool('KOOGATE_COOKIE_SECURE');

  const trustRaw = read('KOOGATE_TRUST_PROXY') ?? 'false';
  const trustProxy: boolean | number | string =
    trustRaw === 'true' ? true : trustRaw === 'false' ? false : /^\d+$/.test(trustRaw) ? Number(trustRaw) : trustRaw;

  const logLevel = (read('KOOGATE_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) problems.push(`KOOGATE_LOG_LEVEL must be debug, info, warn or error`);

  const accessPolicy = read('KOOGATE_ACCESS_POLICY') ?? 'authorized';
  if (!(ACCESS_POLICIES as readonly string[]).includes(accessPolicy)) {
    problems.push(`KOOGATE_ACCESS_POLICY must be ${ACCESS_POLICIES.join(' or ')} (got "${accessPolicy}")`);
  }
  const apiToken = read('KOOGATE_API_TOKEN');
  if (apiToken !== undefined && apiToken.length < 32) problems.push('KOOGATE_API_TOKEN must be at least 32 characters');
  const adminToken = read('KOOGATE_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 32) problems.push('KOOGATE_ADMIN_TOKEN must be at least 32 characters');
  // The directory API's token is handed to the app; the admin token must not come with it.
  if (adminToken !== undefined && adminToken === apiToken) problems.push('KOOGATE_ADMIN_TOKEN must differ from KOOGATE_API_TOKEN: the read-only token must not also grant admin actions');

  const webhook = readWebhook(read, int, problems);

  const publicPaths = splitList(read('KOOGATE_PUBLIC_PATHS'));
  for (const p of publicPaths) if (!p.startsWith('/')) problems.push(`KOOGATE_PUBLIC_PATHS: "${p}" must start with /`);

  const config: Config = {
    port,
    host,
    publicUrl,
    upstreamUrl,
    appId,
    loginUrl,
    kitAccessKey,
    rsaPrivateKeyPem,
    oaepVariant: oaep as OaepSetting,
    sessionSecrets,
    encryptionSecrets: encryptionSecrets.length > 0 ? encryptionSecrets : sessionSecrets,
    redis,
    cookieName: read('KOOGATE_COOKIE_NAME') ?? 'koogate.sid',
    cookieSecure,
    trustProxy,
    renewSkewSeconds: int('KOOGATE_RENEW_SKEW_SECONDS', 0, 3600),
    marketplaceTimeoutMs: int('KOOGATE_MARKETPLACE_TIMEOUT_MS', 100, 60000),
    allowHttpMarketplace: bool('KOOGATE_ALLOW_HTTP_MARKETPLACE'),
    kitWindowSeconds: int('KOOGATE_KIT_WINDOW_SECONDS', 1, 3600),
    accessPolicy: accessPolicy as AccessPolicy,
    apiToken,
    adminToken,
    publicPaths,
    sessionAbsoluteSeconds: int('KOOGATE_SESSION_MAX_AGE_SECONDS', 60, 366 * 24 * 3600),
    sessionIdleSeconds: int('KOOGATE_SESSION_IDLE_SECONDS', 60, 366 * 24 * 3600),
    refreshTokenLifetimeSeconds: int('KOOGATE_REFRESH_TOKEN_LIFETIME_SECONDS', 60, 366 * 24 * 3600),
    renewLockLeaseMs: int('KOOGATE_RENEW_LOCK_LEASE_MS', 100, 60000),
    sessionCacheMs: int('KOOGATE_SESSION_CACHE_MS', 0, 60000),
    upstreamTimeoutMs: int('KOOGATE_UPSTREAM_TIMEOUT_MS', 0, 3600_000),
    upstreamKeepAliveMs: int('KOOGATE_UPSTREAM_KEEPALIVE_MS', 0, 3600_000),
    upstreamMaxSockets: int('KOOGATE_UPSTREAM_MAX_SOCKETS', 1, 65535),
    corsOrigins: splitList(read('KOOGATE_CORS_ORIGINS')),
    wsRecheckSeconds: int('KOOGATE_WS_RECHECK_SECONDS', 1, 3600),
    assertionKeyPem: readAssertionKey(env, problems),
    assertionTtlSeconds: int('KOOGATE_ASSERTION_TTL_SECONDS', 5, 3600),
    webhook,
    seedFile: read('KOOGATE_SEED_FILE'),
    logLevel,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function readAssertionKey(env: Env, problems: string[]): string | undefined {
  let pem: string | undefined;
  if (nonEmpty(env.KOOGATE_ASSERTION_KEY)) pem = env.KOOGATE_ASSERTION_KEY.replace(/\\n/g, '\n');
  else if (nonEmpty(env.KOOGATE_ASSERTION_KEY_FILE)) {
    try {
      pem = readFileSync(env.KOOGATE_ASSERTION_KEY_FILE.trim(), 'utf8');
    } catch (e) {
      problems.push(`KOOGATE_ASSERTION_KEY_FILE cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (pem && !/-----BEGIN (EC )?PRIVATE KEY-----/.test(pem)) problems.push('KOOGATE_ASSERTION_KEY must be a PEM EC private key (P-256)');
  return pem;
}

function readWebhook(read: (n: string) => string | undefined, int: (n: string, min: number, max: number) => number, problems: string[]): WebhookSettings | undefined {
  // The numbers are checked even while the webhook is off, so a typo shows before it is turned on.
  const timeoutMs = int('KOOGATE_WEBHOOK_TIMEOUT_MS', 100, 300_000);
  const retryBaseMs = int('KOOGATE_WEBHOOK_RETRY_BASE_MS', 10, 600_000);
  const maxAttempts = int('KOOGATE_WEBHOOK_MAX_ATTEMPTS', 1, 100_000);
  const maxAgeSeconds = int('KOOGATE_WEBHOOK_MAX_AGE_SECONDS', 1, 30 * 24 * 3600);
  const raw = read('KOOGATE_WEBHOOK_URL');
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    /* reported below */
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push(`KOOGATE_WEBHOOK_URL must be an absolute http(s) URL (got "${raw}")`);
  } else if (url.username || url.password) {
    // fetch refuses such URLs; the signature is what tells the app a delivery is koogate's.
    problems.push('KOOGATE_WEBHOOK_URL must not carry a user name or password: the app verifies X-Koogate-Signature instead');
  }
  const secrets = splitList(read('KOOGATE_WEBHOOK_SECRET'));
  if (secrets.length === 0) problems.push('KOOGATE_WEBHOOK_SECRET is required with KOOGATE_WEBHOOK_URL: the app verifies each delivery with it');
  if (secrets.some((x) => x.length < 32)) problems.push('KOOGATE_WEBHOOK_SECRET: each secret must be at least 32 characters');
  if (!url) return undefined;
  return { url, secrets, timeoutMs, retryBaseMs, maxAttempts, maxAgeSeconds };
}

function readRedis(read: (n: string) => string | undefined, bool: (n: string) => boolean, problems: string[]): RedisSettings | undefined {
  const url = read('REDIS_URL');
  const sentinels = splitList(read('REDIS_SENTINELS'));
  const cluster = splitList(read('REDIS_CLUSTER_NODES'));
  const chosen = [url ? 'REDIS_URL' : '', sentinels.length ? 'REDIS_SENTINELS' : '', cluster.length ? 'REDIS_CLUSTER_NODES' : ''].filter(Boolean);
  if (chosen.length > 1) {
    problems.push(`set only one of ${chosen.join(', ')}`);
    return undefined;
  }
  const nodes = (name: string, list: string[]): RedisNode[] =>
    list.map((hp) => {
      const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(hp);
      if (!m) {
        problems.push(`${name}: "${hp}" must be host:port`);
        return { host: '', port: 0 };
      }
      return { host: m[1]!, port: Number(m[2]) };
    });
  const auth = { username: read('REDIS_USERNAME'), password: read('REDIS_PASSWORD') };
  if (url) {
    if (!/^rediss?:\/\//.test(url)) problems.push('REDIS_URL must start with redis:// or rediss://');
    return { mode: 'single', url };
  }
  if (sentinels.length) {
    return { mode: 'sentinel', sentinels: nodes('REDIS_SENTINELS', sentinels), masterName: read('REDIS_SENTINEL_MASTER') ?? 'mymaster', sentinelPassword: read('REDIS_SENTINEL_PASSWORD'), tls: bool('REDIS_TLS'), ...auth };
  }
  if (cluster.length) return { mode: 'cluster', nodes: nodes('REDIS_CLUSTER_NODES', cluster), tls: bool('REDIS_TLS'), ...auth };
  return undefined;
}

function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
