import { isIP } from 'node:net';
import { readdirSync, statSync } from 'node:fs';
import { ACCESS_POLICIES } from '../core/access';
import { choice, custom, flag, int, list, parseBoolean, pem, rate, text, url, type Schema } from './kinds';

/*
 * Every setting koogate reads, declared once: environment variable, kind (which fixes the type and the
 * wording of its start-up error), default, bounds and meaning. The Config type (config.ts), loadConfig's
 * parsing and error messages, isUnconfigured and the README table check all derive from SCHEMA.
 *
 * Adding a setting is one entry here, under the name its Config field takes, in the group of the module
 * that receives it (or at the top level when it is the composition root's):
 *
 *     shutdownGraceSeconds: int({ env: 'KOOGATE_SHUTDOWN_GRACE_SECONDS', default: 10, min: 0, max: 600,
 *       meaning: 'One sentence for the README table.' }),
 *
 * Config then holds `shutdownGraceSeconds: number`, and test/unit/config.test.ts fails until README.md's
 * table has its row (with its default, or "required"). Nothing else needs touching.
 * - A secret: `secret: true` keeps its value out of every message. `file: true` (or the README meaning of
 *   the file variable) also reads it from `<NAME>_FILE`, a path; the variable itself wins when both are set,
 *   and the README needs a row for `<NAME>_FILE` too.
 * - A value that combines settings (cookieSecure's `auto` follows the public URL, the Redis topology, the
 *   webhook being on) is resolved once in config.ts's `resolve`; everything else reaches Config as parsed.
 */

/** The real KooGallery unified login page; `{appId}` is replaced by the configured app id. */
export const DEFAULT_LOGIN_URL = 'https://macroverse.huaweicloud.com/unified-login/#/portal-login?ind=UNOP&appId={appId}';

export const OAEP_SETTINGS = ['auto', 'sha256-mgf1sha1', 'sha1', 'sha256'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const STORE_SETTINGS = ['auto', 'redis', 'memory'] as const;

const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** An address or subnet proxy-addr accepts: IPv4/IPv6, optionally /bits or /netmask, or one of its names. */
function isTrustAddress(a: string): boolean {
  if (TRUST_NAMES.has(a)) return true;
  const [ip = '', range, ...more] = a.split('/');
  if (more.length > 0 || isIP(ip) === 0) return false;
  return range === undefined || /^\d{1,3}$/.test(range) || isIP(range) === 4;
}

/** Under koogate's own prefix, so it can never collide with a path of the app. */
export const DEFAULT_PRODUCE_PATH = '/_koogate/produce';

/** koogate's own routes under /_koogate/ that the production address may not take. */
const RESERVED = /^\/_koogate\/(login|callback|logout|logged-out|healthz|readyz|jwks\.json|api|admin|metrics)(\/|$)/;

/** A path of one or more plain segments, no trailing slash, clear of koogate's own routes. */
function producePath(raw: string, problem: (text: string) => void): string {
  const path = raw.replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(path) || /\/\.\.?(\/|$)/.test(path)) {
    problem(`KOOGATE_PRODUCE_PATH must be a path such as /_koogate/produce: segments of letters, digits and . _ ~ - (got "${raw}")`);
    return DEFAULT_PRODUCE_PATH;
  }
  if (RESERVED.test(path) || path === '/_koogate' || /^\/produceAPI(\/|$)/.test(path)) {
    problem(`KOOGATE_PRODUCE_PATH must not be /_koogate, a route of koogate's own or under /produceAPI (got "${raw}")`);
    return DEFAULT_PRODUCE_PATH;
  }
  return path;
}
/** KooGallery's open API (order query, usage push), and the second host Huawei documents for it. */
export const DEFAULT_API_URL = 'https://mkt.myhuaweicloud.com';
export const DEFAULT_FALLBACK_API_URL = 'https://mkt.myhuaweicloud.cn';

/** A base URL of the open API: no credentials, query or fragment (the path is kept). Its scheme is checked by config.ts. */
const plainBase = (u: URL) => (u.username || u.password || u.search || u.hash ? 'must be a plain base URL, without credentials, query or fragment' : undefined);
const visibleAscii = (min: number, max: number) => (v: string) => (new RegExp(`^[\\x21-\\x7e]{${min},${max}}$`).test(v) ? undefined : `must be ${min} to ${max} visible ASCII characters`);

const isReadableDir = (dir: string): boolean => {
  try {
    return statSync(dir).isDirectory() && readdirSync(dir) !== undefined;
  } catch {
    return false;
  }
};

/** An http(s) origin exactly as browsers send it in Origin: no path, no trailing slash. */
const isOrigin = (v: string): boolean => {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v;
  } catch {
    return false;
  }
};

const hostPort = (v: string) => (/^\[?([^\]]+?)\]?:(\d{1,5})$/.test(v) ? undefined : 'must be host:port');

export const SCHEMA = {
  port: int({ env: 'PORT', default: 8080, min: 0, max: 65535, meaning: 'TCP port koogate listens on.' }),
  host: text({ env: 'KOOGATE_HOST', default: '0.0.0.0', meaning: 'Interface koogate binds to.' }),
  /** Resolved (auto, and the shared store it needs) by config.ts. */
  workers: custom<number | 'auto'>({
    env: 'KOOGATE_WORKERS',
    default: '1',
    meaning: 'Worker processes serving the one port (node:cluster): a number, or auto for one per available core. Each is a full replica; more than one needs Redis (the memory store is refused).',
    parse: (v, problem) => {
      if (v.toLowerCase() === 'auto') return 'auto';
      if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 256) return Number(v);
      problem(`KOOGATE_WORKERS must be auto or a whole number from 1 to 256 (got "${v}")`);
      return 1;
    },
  }),
  publicUrl: url({ env: 'KOOGATE_PUBLIC_URL', required: true, meaning: 'External base URL of koogate as browsers see it (https://app.example.com); the callback is `<this>/_koogate/callback`.' }),
  appId: text({ env: 'KOOGATE_APP_ID', required: true, meaning: 'The app credential id (appId) from the KooGallery seller console.' }),
  loginUrl: text({ env: 'KOOGATE_LOGIN_URL', default: DEFAULT_LOGIN_URL, meaning: 'Unified login URL; `{appId}` is replaced by KOOGATE_APP_ID.' }),
  kitAccessKey: text({ env: 'KOOGATE_KIT_ACCESS_KEY', required: true, secret: true, file: true, meaning: 'Kit access key ("key management" in the seller console) that verifies kit-sync signatures.' }),
  producePath: custom<string>({
    env: 'KOOGATE_PRODUCE_PATH',
    default: DEFAULT_PRODUCE_PATH,
    meaning:
      'Path of the production address to register: `<KOOGATE_PUBLIC_URL><this>`. Basic calls arrive at it, kit calls at `<this>/produceAPI/v2/<interface>` (V1: `<this>/produceAPI/<interface>`); `/produceAPI/*` at the root keeps working too.',
    parse: producePath,
  }),
  basicAccessKey: text({
    env: 'KOOGATE_BASIC_ACCESS_KEY',
    file: true,
    secret: true,
    meaning: 'Basic-interface access key (the seller console key of the 基础接口 type, not the kit key) that verifies newInstance and the other instance calls. Unset: they answer 000001 and the start-up log says basic interfaces are off.',
  }),
  frontEndUrl: url({
    env: 'KOOGATE_FRONTEND_URL',
    check: (u) => (u.toString().length > 512 ? 'must be at most 512 characters (queryInstance’s frontEndUrl)' : undefined),
    meaning: "The URL queryInstance gives the marketplace as the instance's frontEndUrl (at most 512 characters). Default: KOOGATE_PUBLIC_URL.",
  }),
  /** Off without a URL (config.ts). */
  basicHook: {
    url: url({
      env: 'KOOGATE_BASIC_HOOK_URL',
      check: (u) => (u.username || u.password ? 'must not carry a user name or password: the app verifies X-Koogate-Signature instead' : undefined),
      meaning:
        'URL of the app\'s endpoint koogate asks, signed like the webhook, before it answers newInstance and changeInstanceCheck; it may answer 000004 (not ready) or refuse. Needs KOOGATE_WEBHOOK_SECRET. Unset: both are accepted.',
    }),
    timeoutMs: int({
      env: 'KOOGATE_BASIC_HOOK_TIMEOUT_MS',
      default: 3000,
      min: 100,
      max: 15_000,
      meaning: 'The hook must answer within this, else the call is answered 000005 (retry) and nothing is written.',
    }),
  },
  rsaPrivateKeyPem: pem({
    env: 'KOOGATE_RSA_PRIVATE_KEY',
    required: true,
    file: 'Path of a file holding the RSA private key PEM (preferred over the variable: keeps the key out of the environment).',
    label: /-----BEGIN (RSA )?PRIVATE KEY-----/,
    invalid: 'the RSA private key must be a PEM "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY" (PKCS#1)',
    meaning: 'Merchant RSA private key (PEM, PKCS#8 or PKCS#1) that decrypts clientSecret.',
  }),
  oaepVariant: choice({
    env: 'KOOGATE_OAEP_VARIANT',
    values: OAEP_SETTINGS,
    default: 'auto',
    meaning: 'RSA-OAEP variant of clientSecret: auto (try sha256-mgf1sha1, sha1, sha256 and log the one that worked) or one of them to pin it.',
  }),
  sessionSecrets: list({
    env: 'KOOGATE_SESSION_SECRET',
    file: true,
    required: true,
    secret: true,
    minLength: 32,
    meaning: 'Secret that signs session cookies; comma-separated list to rotate (first signs, all verify). At least 32 characters.',
  }),
  encryptionSecrets: list({
    env: 'KOOGATE_ENCRYPTION_KEYS',
    file: true,
    secret: true,
    minLength: 32,
    meaning: 'Secrets for encryption at rest (client secrets, tokens); comma-separated, first encrypts, all decrypt, at least 32 characters each. Required in production (NODE_ENV=production) and independent of KOOGATE_SESSION_SECRET; only the demo and tests derive it from the session secret.',
  }),
  store: choice({
    env: 'KOOGATE_STORE',
    values: STORE_SETTINGS,
    default: 'auto',
    meaning: 'auto (Redis when a REDIS_* topology is set, else memory), redis (refuse to start without one) or memory. Production refuses the memory store unless this says memory.',
  }),
  storeWaitSeconds: int({
    env: 'KOOGATE_STORE_WAIT_SECONDS',
    default: 60,
    min: 0,
    max: 3600,
    meaning: 'At start, how long koogate waits for an unreachable Redis, retrying with a message each time, before it gives up and exits.',
  }),
  /** Resolved into one topology (RedisSettings) by config.ts. */
  redis: {
    url: text({
      env: 'REDIS_URL',
    file: true,
      secret: true,
      check: (v) => (/^rediss?:\/\//.test(v) ? undefined : 'must start with redis:// or rediss://'),
      meaning: 'redis:// or rediss:// URL of the shared store. Absent: in-memory store (one process only; sessions and synced tenants are lost on restart).',
    }),
    sentinels: list({ env: 'REDIS_SENTINELS', item: hostPort, meaning: 'Instead of REDIS_URL: comma-separated host:port of Redis Sentinels; koogate follows the primary they name.' }),
    masterName: text({ env: 'REDIS_SENTINEL_MASTER', default: 'mymaster', meaning: "With REDIS_SENTINELS: the monitored primary's name." }),
    sentinelPassword: text({ env: 'REDIS_SENTINEL_PASSWORD', secret: true, meaning: 'With REDIS_SENTINELS: password of the Sentinels themselves, when they require one.' }),
    clusterNodes: list({ env: 'REDIS_CLUSTER_NODES', item: hostPort, meaning: 'Instead of REDIS_URL: comma-separated host:port of some Redis Cluster nodes (the rest are discovered).' }),
    username: text({ env: 'REDIS_USERNAME', meaning: 'With REDIS_SENTINELS or REDIS_CLUSTER_NODES: ACL user name (with REDIS_URL put it in the URL).' }),
    password: text({ env: 'REDIS_PASSWORD', secret: true, file: true, meaning: 'With REDIS_SENTINELS or REDIS_CLUSTER_NODES: password of the Redis servers (with REDIS_URL put it in the URL).' }),
    tls: flag({ env: 'REDIS_TLS', default: false, meaning: 'With REDIS_SENTINELS or REDIS_CLUSTER_NODES: connect with TLS (with REDIS_URL use rediss://).' }),
  },
  cookieName: text({ env: 'KOOGATE_COOKIE_NAME', default: 'koogate.sid', meaning: 'Name of the session cookie.' }),
  /** 'auto' is resolved against the public URL by config.ts. */
  cookieSecure: custom<boolean | 'auto'>({
    env: 'KOOGATE_COOKIE_SECURE',
    default: 'auto',
    meaning: 'Mark cookies Secure: auto (when KOOGATE_PUBLIC_URL is https), true or false.',
    parse: (v, problem) => {
      if (v.toLowerCase() === 'auto') return 'auto';
      const b = parseBoolean(v);
      if (b === undefined) problem(`KOOGATE_COOKIE_SECURE must be auto, true or false (got "${v.toLowerCase()}")`);
      return b ?? 'auto';
    },
  }),
  trustProxy: custom<boolean | number | string>({
    env: 'KOOGATE_TRUST_PROXY',
    default: 'false',
    meaning: "Express 'trust proxy' value when koogate runs behind a load balancer or TLS terminator (true, a hop count, or addresses).",
    parse: (v, problem) => {
      if (v === 'true') return true;
      if (v === 'false') return false;
      if (/^\d+$/.test(v)) return Number(v);
      // What express and proxy-addr would otherwise reject at start with "invalid IP address: …".
      const bad = v.split(',').map((a) => a.trim()).find((a) => !isTrustAddress(a));
      if (bad !== undefined) problem(`KOOGATE_TRUST_PROXY must be true, false, a hop count, or comma-separated addresses, subnets (10.0.0.0/8) or loopback, linklocal, uniquelocal (got "${v}"; "${bad}" is none of these)`);
      return v;
    },
  }),
  renewSkewSeconds: int({ env: 'KOOGATE_RENEW_SKEW_SECONDS', default: 120, min: 0, max: 3600, meaning: 'Renew the access token when it expires within this many seconds.' }),
  marketplaceTimeoutMs: int({ env: 'KOOGATE_MARKETPLACE_TIMEOUT_MS', default: 5000, min: 100, max: 60000, meaning: 'Timeout of each call to the marketplace (token, userinfo).' }),
  allowHttpMarketplace: flag({ env: 'KOOGATE_ALLOW_HTTP_MARKETPLACE', default: false, meaning: 'Allow tenants whose identity domain is plain http:// (only for local stand-ins and tests).' }),
  kitWindowSeconds: int({
    env: 'KOOGATE_KIT_WINDOW_SECONDS',
    default: 60,
    min: 1,
    max: 3600,
    meaning: 'Accepted clock difference of kit-sync x-timestamp (V2) and body timeStamp (V1); nonces are remembered this long.',
  }),
  accessPolicy: choice({
    env: 'KOOGATE_ACCESS_POLICY',
    values: ACCESS_POLICIES,
    default: 'authorized',
    meaning: 'Who may log in: authorized (only users that authSync authorized and enabled for the tenant) or tenant (any user of a synced tenant, except users authSync cancelled or disabled; for early testing).',
  }),
  apiToken: text({
    env: 'KOOGATE_API_TOKEN',
    file: true,
    secret: true,
    minLength: 32,
    meaning: 'Bearer token of the read-only directory API under /_koogate/api/ (at least 32 characters). Unset: the API answers 404.',
  }),
  adminToken: text({
    env: 'KOOGATE_ADMIN_TOKEN',
    file: true,
    secret: true,
    minLength: 32,
    meaning: 'Bearer token of the admin API under /_koogate/admin/ (sessions, dead letters, re-sealing; at least 32 characters, different from KOOGATE_API_TOKEN). Unset: the admin API answers 404.',
  }),
  publicPaths: list({
    env: 'KOOGATE_PUBLIC_PATHS',
    item: (p) => (p.startsWith('/') ? undefined : 'must start with /'),
    meaning: 'Comma-separated paths served without login (`/health` exact, `/static/*` prefix). Identity headers are still stripped, and set when a session exists.',
  }),
  sessionAbsoluteSeconds: int({
    env: 'KOOGATE_SESSION_MAX_AGE_SECONDS',
    default: 2592000,
    min: 60,
    max: 366 * 24 * 3600,
    meaning: 'Absolute session lifetime from login (30 days). A session also ends when its refresh token can no longer renew.',
  }),
  sessionIdleSeconds: int({
    env: 'KOOGATE_SESSION_IDLE_SECONDS',
    default: 28800,
    min: 60,
    max: 366 * 24 * 3600,
    meaning: 'A session unused this long ends (8 hours). The cookie and the Redis TTL follow it.',
  }),
  refreshTokenLifetimeSeconds: int({
    env: 'KOOGATE_REFRESH_TOKEN_LIFETIME_SECONDS',
    default: 2592000,
    min: 60,
    max: 366 * 24 * 3600,
    meaning: 'Refresh token lifetime assumed when the token answer carries no refresh_expires_in (30 days, as documented).',
  }),
  renewLockLeaseMs: int({
    env: 'KOOGATE_RENEW_LOCK_LEASE_MS',
    default: 5000,
    min: 100,
    max: 60000,
    meaning: 'Initial lease of the cross-replica renewal lock; extended while the refresh grant is in flight.',
  }),
  sessionCacheMs: int({
    env: 'KOOGATE_SESSION_CACHE_MS',
    default: 1000,
    min: 0,
    max: 60000,
    meaning: 'How long a replica answers a session from memory before checking the store again (0: every request). Logout and revocation reach every replica at once by Redis pub/sub; this bounds a missed message.',
  }),
  /** What the forwarder (proxy/forward.ts) needs of the app behind koogate. */
  upstream: {
    url: url({ env: 'KOOGATE_UPSTREAM_URL', required: true, meaning: 'Base URL of the ISV app that koogate proxies to.' }),
    timeoutMs: int({
      env: 'KOOGATE_UPSTREAM_TIMEOUT_MS',
      default: 60000,
      min: 0,
      max: 3600_000,
      meaning: 'The app must start answering (status and headers) within this, else 504; 0: no limit. Bodies, server-sent events and long polls then stream for as long as they take.',
    }),
    keepAliveMs: int({
      env: 'KOOGATE_UPSTREAM_KEEPALIVE_MS',
      default: 30000,
      min: 0,
      max: 3600_000,
      meaning: 'Idle keep-alive connections to the app are closed after this; 0 turns keep-alive off.',
    }),
    maxSockets: int({ env: 'KOOGATE_UPSTREAM_MAX_SOCKETS', default: 256, min: 1, max: 65535, meaning: 'At most this many connections to the app at once.' }),
  },
  corsOrigins: list({ env: 'KOOGATE_CORS_ORIGINS', meaning: "Comma-separated origins (https://app.example.com) allowed to read koogate's 401 answers to their fetch calls." }),
  wsOrigins: list({
    env: 'KOOGATE_WS_ORIGINS',
    item: (v) => (isOrigin(v) ? undefined : 'must be an origin such as https://app.example.com (scheme, host and port only)'),
    meaning: 'Comma-separated origins, besides KOOGATE_PUBLIC_URL\'s, whose pages may open websockets through koogate. Other Origins get 403 before anything is upgraded; a request without Origin (no browser) is allowed.',
  }),
  wsRecheckSeconds: int({
    env: 'KOOGATE_WS_RECHECK_SECONDS',
    default: 30,
    min: 1,
    max: 3600,
    meaning: 'How often open websockets are re-checked against their session (expiry); logout and revocation close them at once.',
  }),
  assertionKeyPem: pem({
    env: 'KOOGATE_ASSERTION_KEY',
    file: 'Path of a file holding KOOGATE_ASSERTION_KEY.',
    label: /-----BEGIN (EC )?PRIVATE KEY-----/,
    invalid: 'KOOGATE_ASSERTION_KEY must be a PEM EC private key (P-256)',
    meaning: 'EC P-256 private key (PEM) that signs an ES256 JWT in X-Koogate-Assertion on every proxied request; the public key is at /_koogate/jwks.json. Several PEM keys one after another rotate: the first signs, all are published (each with its kid). Unset: no assertion.',
  }),
  assertionTtlSeconds: int({ env: 'KOOGATE_ASSERTION_TTL_SECONDS', default: 60, min: 5, max: 3600, meaning: 'Lifetime of the assertion JWT.' }),
  /** Off without a URL (config.ts); the numbers are checked even then, so a typo shows before it is turned on. */
  webhook: {
    url: url({
      env: 'KOOGATE_WEBHOOK_URL',
      // fetch refuses such URLs; the signature is what tells the app a delivery is koogate's.
      check: (u) => (u.username || u.password ? 'must not carry a user name or password: the app verifies X-Koogate-Signature instead' : undefined),
      meaning: 'URL of the app\'s endpoint that receives every applied kit call as a signed JSON POST (see "Webhook to your app"). Unset: no webhook.',
    }),
    secrets: list({
      env: 'KOOGATE_WEBHOOK_SECRET',
    file: true,
      secret: true,
      minLength: 32,
      meaning: 'Secret that signs each webhook delivery (X-Koogate-Signature); at least 32 characters, required with KOOGATE_WEBHOOK_URL. Comma-separated to rotate: each one signs.',
    }),
    timeoutMs: int({ env: 'KOOGATE_WEBHOOK_TIMEOUT_MS', default: 10000, min: 100, max: 300_000, meaning: 'The app must answer a delivery within this, else it is retried.' }),
    retryBaseMs: int({
      env: 'KOOGATE_WEBHOOK_RETRY_BASE_MS',
      default: 1000,
      min: 10,
      max: 600_000,
      meaning: 'Delay before the first retry; each further retry doubles it, up to 300 times it (5 minutes), with jitter.',
    }),
    maxAttempts: int({ env: 'KOOGATE_WEBHOOK_MAX_ATTEMPTS', default: 500, min: 1, max: 100_000, meaning: 'An event that failed this many attempts goes to the dead letters.' }),
    maxAgeSeconds: int({
      env: 'KOOGATE_WEBHOOK_MAX_AGE_SECONDS',
      default: 86400,
      min: 1,
      max: 30 * 24 * 3600,
      meaning: 'An event still failing this long after it was queued goes to the dead letters (a day).',
    }),
  },
  /** Per client address, counted in the shared store (limits/rate-limits.ts). */
  rateLimits: {
    login: rate({
      env: 'KOOGATE_RATE_LIMIT_LOGIN',
      default: '600/60',
      meaning: 'Requests to /_koogate/login and /_koogate/callback per client address: `<requests>/<seconds>`, or off. 600 a minute is some 300 sign-ins a minute from one office NAT address; each bogus callback code costs a token exchange.',
    }),
    api: rate({
      env: 'KOOGATE_RATE_LIMIT_API',
      default: '600/60',
      meaning: 'Requests to the directory and admin APIs (/_koogate/api/, /_koogate/admin/) per client address, whatever the token: `<requests>/<seconds>`, or off. Bounds bearer-token guessing.',
    }),
    kit: rate({
      env: 'KOOGATE_RATE_LIMIT_KIT',
      default: '6000/60',
      meaning: 'Kit and basic calls (/produceAPI/) per client address: `<requests>/<seconds>`, or off. A high ceiling: the marketplace sends bursts (500 users per authSync call, department lists).',
    }),
  },
  /** What every koogate page shows (pages/views.ts). */
  pages: {
    brandName: text({ env: 'KOOGATE_BRAND_NAME', meaning: 'Name of the application shown at the top of every koogate page (and in its title). Unset: none.' }),
    brandLogoUrl: url({
      env: 'KOOGATE_BRAND_LOGO_URL',
      check: (u) => (u.username || u.password ? 'must not carry a user name or password' : undefined),
      meaning: 'Absolute http(s) URL of a logo shown beside the brand name on every koogate page (allowed by the pages\' Content-Security-Policy). Unset: none.',
    }),
    viewsDir: text({
      env: 'KOOGATE_VIEWS_DIR',
      check: (dir) => (isReadableDir(dir) ? undefined : `must be a readable folder (got "${dir}")`),
      meaning: 'Folder of templates that replace koogate\'s built-in pages of the same name (error.html, logout.html, _style.css, …; see "Pages and branding"). Missing ones fall back to the built-in ones; one that does not parse is refused at start and logged.',
    }),
    marketplaceLogoutUrl: text({
      env: 'KOOGATE_MARKETPLACE_LOGOUT_URL',
      check: (t) => (/^https?:\/\/[^/?#@]+\//.test(t.replaceAll('{tenant}', 't')) && t.includes('{redirect_url}') ? undefined : `must be an http(s) URL holding {redirect_url} (got "${t}")`),
      meaning: 'Marketplace logout for a tenant koogate has no identity domain for (an unknown tenant), so that its page can offer another account: `{tenant}` and `{redirect_url}` are replaced. Unset: that page links to koogate\'s logged-out page.',
    }),
  },
  shutdownGraceSeconds: int({
    env: 'KOOGATE_SHUTDOWN_GRACE_SECONDS',
    default: 25,
    min: 0,
    max: 600,
    meaning: "On SIGTERM, in-flight requests and streams may finish for this long before they are cut (25: below Kubernetes' 30 s terminationGracePeriodSeconds). See \"Shutdown\".",
  }),
  /** koogate's own calls to KooGallery (outbound/): order query and usage push. Resolved by config.ts. */
  outbound: {
    ak: text({
      env: 'KOOGATE_MARKETPLACE_AK',
      secret: true,
      file: true,
      check: visibleAscii(8, 128),
      meaning: "Access key (AK) of the merchant's Huawei Cloud account, which signs the order query (SDK-HMAC-SHA256). With KOOGATE_MARKETPLACE_SK it turns order details on.",
    }),
    sk: text({
      env: 'KOOGATE_MARKETPLACE_SK',
      secret: true,
      file: true,
      check: visibleAscii(8, 256),
      meaning: 'Secret key (SK) of that access key. Never logged, answered or sent.',
    }),
    apiUrl: url({
      env: 'KOOGATE_MARKETPLACE_API_URL',
      check: plainBase,
      meaning: `Base URL of KooGallery's open API (order query, usage push); default ${DEFAULT_API_URL}. https only, unless KOOGATE_ALLOW_HTTP_MARKETPLACE (a local stand-in).`,
    }),
    fallbackUrl: text({
      env: 'KOOGATE_MARKETPLACE_API_FALLBACK_URL',
      meaning: `Second host, tried when the first gives no answer. Default: ${DEFAULT_FALLBACK_API_URL} (Huawei's documented fallback) with the default API URL, none otherwise; "none" turns it off.`,
    }),
    retryBaseMs: int({
      env: 'KOOGATE_OUTBOUND_RETRY_BASE_MS',
      default: 1000,
      min: 10,
      max: 600_000,
      meaning: 'Delay before the first retry of an order query or usage push; doubled per failure up to 300 times it (5 minutes), with jitter.',
    }),
    hourlyDeadlineMinutes: int({
      env: 'KOOGATE_USAGE_HOURLY_DEADLINE_MINUTES',
      default: 60,
      min: 1,
      max: 24 * 60,
      meaning: 'An hourly usage record must be accepted within this many minutes after its end_time; koogate warns at half of it and again once it has passed.',
    }),
    dailyDeadlineHours: int({
      env: 'KOOGATE_USAGE_DAILY_DEADLINE_HOURS',
      default: 24,
      min: 1,
      max: 30 * 24,
      meaning: 'The same for daily usage records (an interval longer than an hour), in hours.',
    }),
    retentionDays: int({
      env: 'KOOGATE_USAGE_RETENTION_DAYS',
      default: 35,
      min: 1,
      max: 400,
      meaning: 'Usage records, their states and what makes duplicates (metering_sn, instance and period) are kept this long after their last change.',
    }),
  },
  seedFile: text({
    env: 'KOOGATE_SEED_FILE',
    meaning: 'JSON file of tenants, app credentials and authorized users loaded at start (development and tests; production data arrives by kit sync).',
  }),
  accessLog: flag({
    env: 'KOOGATE_ACCESS_LOG',
    default: true,
    meaning: 'One JSON access-log line per request (method, path without the query, status, ms, bytes, tenant, user, request id): true or false.',
  }),
  /** Resolved by config.ts: the listener is off without a port. */
  metrics: {
    port: text({
      env: 'KOOGATE_METRICS_PORT',
      check: (v) => (/^\d{1,5}$/.test(v) && Number(v) <= 65535 ? undefined : 'must be a port number from 0 to 65535'),
      meaning: 'Port of the Prometheus metrics listener (`GET /metrics`), separate from PORT. Unset: no metrics listener.',
    }),
    host: text({
      env: 'KOOGATE_METRICS_HOST',
      default: '127.0.0.1',
      meaning: 'Interface the metrics listener binds to; 0.0.0.0 lets a Prometheus on another host (or pod) scrape it.',
    }),
  },
  logLevel: choice({ env: 'KOOGATE_LOG_LEVEL', values: LOG_LEVELS, default: 'info', meaning: 'debug, info, warn or error. Logs are JSON lines on stdout.' }),
} satisfies Schema;
