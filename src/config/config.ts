import { availableParallelism } from 'node:os';
import { isSet, isSetting, readRaw, type Env, type Schema, type Setting, type ValuesOf } from './kinds';
import { DEFAULT_API_URL, DEFAULT_FALLBACK_API_URL, LOG_LEVELS, OAEP_SETTINGS, SCHEMA } from './schema';

export { DEFAULT_LOGIN_URL } from './schema';

export type OaepSetting = (typeof OAEP_SETTINGS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The settings as SCHEMA declares and parses them, before the few that combine others are resolved. */
type Parsed = ValuesOf<typeof SCHEMA>;

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
export type WebhookSettings = Parsed['webhook'] & {
  url: URL;
  /** Every one signs each delivery, so the app can rotate: the first is current. */
  secrets: string[];
};

/** The app behind koogate and how the forwarder (proxy/forward.ts) talks to it. */
export type UpstreamSettings = Parsed['upstream'];

/** The optional synchronous hook the basic interfaces ask before answering newInstance and changeInstanceCheck. */
export interface BasicHookConfig {
  url: URL;
  /** KOOGATE_WEBHOOK_SECRET: the hook's requests are signed as the webhook's deliveries are. */
  secrets: string[];
  timeoutMs: number;
}

/** koogate's own calls to KooGallery: the order query (AK/SK) and the usage push (basic access key). */
export interface OutboundSettings {
  /** The open API's host first, then its fallback when there is one. */
  apiBases: URL[];
  /** The Huawei Cloud access key pair; without it no order is queried. */
  aksk?: { ak: string; sk: string };
  retryBaseMs: number;
  usage: { hourlyDeadlineMs: number; dailyDeadlineMs: number; retentionMs: number };
}

/** The values config.ts resolves from several settings; every other field is SCHEMA's, as parsed. */
interface Resolved {
  /** queryInstance's frontEndUrl: KOOGATE_FRONTEND_URL, else KOOGATE_PUBLIC_URL. */
  frontEndUrl: string;
  /** Off without KOOGATE_BASIC_HOOK_URL. */
  basicHook?: BasicHookConfig;
  /** KOOGATE_LOGIN_URL with `{appId}` filled in. */
  loginUrl: string;
  rsaPrivateKeyPem: string;
  /** KOOGATE_ENCRYPTION_KEYS, or the session secrets when it is unset. */
  encryptionSecrets: string[];
  /** Absent: the in-memory store. */
  redis?: RedisSettings;
  cookieSecure: boolean;
  /** Worker processes on the port (KOOGATE_WORKERS, `auto` resolved); 1 runs no cluster at all. */
  workers: number;
  /** Off without KOOGATE_WEBHOOK_URL. */
  webhook?: WebhookSettings;
  /** The Prometheus listener; off without KOOGATE_METRICS_PORT. */
  metrics?: { port: number; host: string };
  outbound: OutboundSettings;
}

/** One validated configuration object; nothing else in koogate reads the environment. */
export type Config = Omit<Parsed, keyof Resolved> & Resolved;

/** One line of the README's configuration table: what an operator can set. */
export interface SettingDoc {
  env: string;
  required: boolean;
  default?: string;
  meaning: string;
}

function settingsOf(schema: Schema): Setting<unknown>[] {
  return Object.values(schema).flatMap((x) => (isSetting(x) ? [x] : settingsOf(x)));
}

const ALL = settingsOf(SCHEMA);

/** Every variable koogate reads, in SCHEMA's order, `_FILE` variants beside their settings. */
export const SETTINGS: readonly SettingDoc[] = ALL.flatMap((s) => {
  const own: SettingDoc = { env: s.env, required: s.required, default: s.shownDefault, meaning: s.meaning };
  return s.file ? [own, { env: `${s.env}_FILE`, required: false, meaning: s.file }] : [own];
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`koogate configuration is incomplete or invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** True when the environment sets none of the settings a real deployment needs. */
export function isUnconfigured(env: Env): boolean {
  return ALL.filter((s) => s.required).every((s) => !isSet(s, env));
}

function parseSchema<S extends Schema>(schema: S, env: Env, problem: (text: string) => void): ValuesOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, x] of Object.entries(schema)) out[key] = isSetting(x) ? x.parse(readRaw(x, env, problem), problem) : parseSchema(x, env, problem);
  return out as ValuesOf<S>;
}

/** Parses and validates the environment; throws one ConfigError that names every problem at once. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const problem = (text: string) => void problems.push(text);
  const parsed = parseSchema(SCHEMA, env, problem);
  const config = resolve(parsed, problem);
  if (env.NODE_ENV === 'production') refuseUnsafeProduction(parsed, config, problem);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Production keeps what it stores across restarts, or does not start: encryption keys of their own
 * (a key derived from the session secret changes with it, and every sealed client secret and token
 * becomes unreadable), and a shared store unless memory is asked for by name.
 */
function refuseUnsafeProduction(p: Parsed, config: Config, problem: (text: string) => void): void {
  if (p.encryptionSecrets.length === 0) {
    problem(
      'KOOGATE_ENCRYPTION_KEYS (or KOOGATE_ENCRYPTION_KEYS_FILE) is required with NODE_ENV=production: it seals client secrets and tokens in the store, and must outlive restarts and session-secret rotations. Accepted: one or more comma-separated secrets of 32+ characters, e.g. `openssl rand -hex 32`',
    );
  } else if (p.encryptionSecrets.some((k) => p.sessionSecrets.includes(k))) {
    problem('KOOGATE_ENCRYPTION_KEYS must be independent of KOOGATE_SESSION_SECRET (a key equals a session secret): rotating cookie secrets must never make stored secrets unreadable');
  }
  if (!config.redis && p.store !== 'memory') {
    problem(
      `NODE_ENV=production without a shared store (KOOGATE_STORE=${p.store}): set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, or KOOGATE_STORE=memory to accept that sessions and synced tenants live in one process and are lost on restart`,
    );
  }
}

/** The values that combine settings, and the rules that span more than one. */
function resolve(p: Parsed, problem: (text: string) => void): Config {
  // The directory API's token is handed to the app; the admin token must not come with it.
  if (p.adminToken !== undefined && p.adminToken === p.apiToken) {
    problem('KOOGATE_ADMIN_TOKEN must differ from KOOGATE_API_TOKEN: the read-only token must not also grant admin actions');
  }
  // The seller console binds one key to each interface type; one value for both would be a mistake.
  if (p.basicAccessKey !== undefined && p.basicAccessKey === p.kitAccessKey) {
    problem('KOOGATE_BASIC_ACCESS_KEY must differ from KOOGATE_KIT_ACCESS_KEY: the seller console gives each interface type its own key');
  }
  const redis = redisTopology(p.redis, problem);
  if (p.store === 'redis' && !redis) problem('KOOGATE_STORE=redis needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (none is set)');
  if (p.store === 'memory' && redis) problem('KOOGATE_STORE=memory contradicts the Redis settings: unset REDIS_* or set KOOGATE_STORE to auto or redis');
  const workers = p.workers === 'auto' ? availableParallelism() : p.workers;
  if (workers > 1 && !redis) {
    problem(
      `KOOGATE_WORKERS=${p.workers} runs ${workers} worker processes, which need a shared store: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (the memory store lives in one process, so workers would not share sessions or tenants)`,
    );
  }
  return {
    ...p,
    workers,
    frontEndUrl: (p.frontEndUrl ?? p.publicUrl).toString().replace(/\/$/, ''),
    basicHook: basicHookSettings(p, problem),
    loginUrl: p.loginUrl.replaceAll('{appId}', encodeURIComponent(p.appId)),
    rsaPrivateKeyPem: p.rsaPrivateKeyPem ?? '',
    encryptionSecrets: p.encryptionSecrets.length > 0 ? p.encryptionSecrets : p.sessionSecrets,
    redis,
    cookieSecure: p.cookieSecure === 'auto' ? p.publicUrl.protocol === 'https:' : p.cookieSecure,
    webhook: webhookSettings(p.webhook, problem),
    metrics: metricsListener(p.metrics, p.port, problem),
    outbound: outboundSettings(p.outbound, p.allowHttpMarketplace, problem),
  };
}

function outboundSettings(o: Parsed['outbound'], allowHttp: boolean, problem: (text: string) => void): OutboundSettings {
  const https = (env: string, u: URL): URL | undefined => {
    if (u.protocol === 'https:' || (allowHttp && u.protocol === 'http:')) return u;
    problem(`${env} must be https (plain http only with KOOGATE_ALLOW_HTTP_MARKETPLACE, for a local stand-in)`);
    return undefined;
  };
  const api = o.apiUrl ?? new URL(DEFAULT_API_URL);
  const fallbackText = o.fallbackUrl ?? (api.href.replace(/\/+$/, '') === DEFAULT_API_URL ? DEFAULT_FALLBACK_API_URL : 'none');
  let fallback: URL | undefined;
  if (fallbackText !== 'none') {
    try {
      fallback = new URL(fallbackText);
    } catch {
      problem(`KOOGATE_MARKETPLACE_API_FALLBACK_URL must be an absolute https URL or "none" (got "${fallbackText}")`);
    }
    if (fallback && (fallback.username || fallback.password || fallback.search || fallback.hash)) {
      problem('KOOGATE_MARKETPLACE_API_FALLBACK_URL must be a plain base URL, without credentials, query or fragment');
      fallback = undefined;
    }
  }
  if ((o.ak === undefined) !== (o.sk === undefined)) problem('KOOGATE_MARKETPLACE_AK and KOOGATE_MARKETPLACE_SK go together: set both (or their _FILE variants) or neither');
  return {
    apiBases: [https('KOOGATE_MARKETPLACE_API_URL', api), fallback && https('KOOGATE_MARKETPLACE_API_FALLBACK_URL', fallback)].filter((u): u is URL => u !== undefined),
    ...(o.ak !== undefined && o.sk !== undefined ? { aksk: { ak: o.ak, sk: o.sk } } : {}),
    retryBaseMs: o.retryBaseMs,
    usage: { hourlyDeadlineMs: o.hourlyDeadlineMinutes * 60_000, dailyDeadlineMs: o.dailyDeadlineHours * 3600_000, retentionMs: o.retentionDays * 24 * 3600_000 },
  };
}

function basicHookSettings(p: Parsed, problem: (text: string) => void): BasicHookConfig | undefined {
  if (!p.basicHook.url) return undefined;
  if (p.webhook.secrets.length === 0) problem('KOOGATE_BASIC_HOOK_URL needs KOOGATE_WEBHOOK_SECRET: the app verifies each hook request with it');
  return { url: p.basicHook.url, secrets: p.webhook.secrets, timeoutMs: p.basicHook.timeoutMs };
}

function metricsListener(m: Parsed['metrics'], publicPort: number, problem: (text: string) => void): Config['metrics'] {
  if (m.port === undefined) return undefined;
  const port = Number(m.port);
  // The series describe the process and its traffic: never on the port browsers reach.
  if (port !== 0 && port === publicPort) problem(`KOOGATE_METRICS_PORT must differ from PORT (both are ${port}): metrics are never served on the public port`);
  return { port, host: m.host };
}

function webhookSettings(w: Parsed['webhook'], problem: (text: string) => void): WebhookSettings | undefined {
  if (!w.url) return undefined;
  if (w.secrets.length === 0) problem('KOOGATE_WEBHOOK_SECRET is required with KOOGATE_WEBHOOK_URL: the app verifies each delivery with it');
  return { ...w, url: w.url };
}

function redisTopology(r: Parsed['redis'], problem: (text: string) => void): RedisSettings | undefined {
  const chosen = [r.url ? 'REDIS_URL' : '', r.sentinels.length ? 'REDIS_SENTINELS' : '', r.clusterNodes.length ? 'REDIS_CLUSTER_NODES' : ''].filter(Boolean);
  if (chosen.length > 1) {
    problem(`set only one of ${chosen.join(', ')}`);
    return undefined;
  }
  const auth = { username: r.username, password: r.password };
  if (r.url) return { mode: 'single', url: r.url };
  if (r.sentinels.length) return { mode: 'sentinel', sentinels: r.sentinels.map(node), masterName: r.masterName, sentinelPassword: r.sentinelPassword, tls: r.tls, ...auth };
  if (r.clusterNodes.length) return { mode: 'cluster', nodes: r.clusterNodes.map(node), tls: r.tls, ...auth };
  return undefined;
}

/** host:port, already checked by the schema (`[v6]:port` too). */
function node(hp: string): RedisNode {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(hp);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: '', port: 0 };
}
