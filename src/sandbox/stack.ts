import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { loadConfig } from '../config/config';
import { DEFAULT_PRODUCE_PATH } from '../config/schema';
import { loadPublicKey } from '../crypto/rsa-oaep';
import { kitTimeStamp, sendKitCall } from '../kit/client';
import type { Logger } from '../observability/logger';
import { startKoogate, type Koogate } from '../compose/server';
import { startDemoApp, type DemoApp, type DemoSubscription } from './demo-app';
import { ORDERS_PATH } from './rooms/orders';
import { startSandbox, type Sandbox, type SandboxTenant, type SandboxUser } from './marketplace';

export const DEMO_APP_ID = 'demo-app-0001';

export interface StackOptions {
  /** Put koogate in front of this app instead of the demo app. */
  upstreamUrl?: string;
  log: Logger;
  /** koogate's port; 0 picks a free one. */
  port?: number;
  /** The host name browsers use for koogate; the sandbox is reached as 127.0.0.1 so their cookies never mix. */
  publicHost?: string;
  redisUrl?: string;
  /** Further koogate settings (environment variable names), e.g. KOOGATE_RENEW_SKEW_SECONDS. */
  env?: Record<string, string>;
  /** Reuse a running sandbox (several koogate replicas in front of one marketplace). */
  sandbox?: Sandbox;
  /** Reuse keys and secrets of another replica. */
  secrets?: StackSecrets;
  tenants?: SandboxTenant[];
  /**
   * koogate reads orders and pushes usage records at this stack's stand-in marketplace: its open API with
   * the stack's AK/SK and basic access key (the demo turns it on).
   */
  openApi?: boolean;
}

/** The demo merchant's Huawei Cloud access key pair, known to the stand-in's order query. */
export interface StackAkSk {
  ak: string;
  sk: string;
}

export interface StackSecrets {
  /** The kit access key. */
  accessKey: string;
  /** The basic-interface access key, a different one (one key per interface type). */
  basicAccessKey: string;
  sessionSecret: string;
  /** KOOGATE_ENCRYPTION_KEYS; without it koogate derives one from the session secret (refused in production). */
  encryptionKey?: string;
  privateKeyPem: string;
  publicKeyPem: string;
  aksk: StackAkSk;
}

export interface Stack {
  koogate: Koogate;
  sandbox: Sandbox;
  app: Pick<DemoApp, 'url' | 'close'>;
  /** The URL a browser opens. */
  url: string;
  /** The stand-in marketplace's order console: freeze, unfreeze, release. */
  ordersUrl: string;
  secrets: StackSecrets;
  /** Pushes tenantSync, applicationSync and authSync for every sandbox tenant to koogate, as KooGallery would. */
  syncTenants(): Promise<void>;
  /**
   * Plays a whole purchase for every sandbox tenant, as KooGallery does after payment: newInstance at the
   * production address, then the kit syncs carrying the instanceId koogate answered.
   */
  purchase(): Promise<void>;
  close(): Promise<void>;
}

/** Pushes tenantSync, applicationSync and authSync (all users) for every sandbox tenant to a koogate, signed and encrypted as KooGallery does. */
export async function syncTenants(sandbox: Sandbox, koogateUrl: string, secrets: StackSecrets): Promise<void> {
  const publicKey = loadPublicKey(secrets.publicKeyPem);
  for (const t of sandbox.tenants) {
    const common = { instanceId: `inst-${t.tenantId}`, tenantId: t.tenantId, testFlag: 1, timeStamp: kitTimeStamp(Date.now()) };
    const calls = [
      { iface: 'tenantSync' as const, body: { ...common, orderId: `order-${t.tenantId}`, tenantCode: t.tenantCode, name: t.name, domainName: sandbox.domainOf(t.tenantId), flag: 1 } },
      { iface: 'applicationSync' as const, body: { ...common, appId: DEMO_APP_ID, clientId: t.clientId, clientSecret: t.clientSecret, flag: 1 } },
      // The tenant's administrator authorizes every demo user (koogate's default policy admits no one else).
      { iface: 'authSync' as const, body: { ...common, appId: DEMO_APP_ID, flag: 1, userList: t.users.map(demoUserEntry) } },
    ];
    for (const c of calls) {
      const res = await sendKitCall({ baseUrl: koogateUrl, iface: c.iface, accessKey: secrets.accessKey, body: c.body, publicKey });
      const answer = res.body as { resultCode?: string } | undefined;
      if (answer?.resultCode !== '000000') throw new Error(`${c.iface} for ${t.tenantId} failed: ${res.text}`);
    }
  }
}

/** A sandbox user as authSync names them (docs/protocol.md §3.5): enabled, with the sandbox's role. */
export function demoUserEntry(u: SandboxUser): Record<string, string> {
  return { userName: u.userName, name: u.name, orgCode: u.organizationCode ?? '', role: u.role ?? 'user', enable: 'true' };
}

/** The koogate settings of the demo stack: koogate in front of `appUrl`, logging in through `sandbox`. */
export function stackEnv(sandbox: Sandbox, appUrl: string, secrets: StackSecrets, port: number, publicHost = 'localhost'): Record<string, string> {
  return {
    PORT: String(port),
    KOOGATE_HOST: '127.0.0.1',
    KOOGATE_PUBLIC_URL: `http://${publicHost}:${port}`,
    KOOGATE_UPSTREAM_URL: appUrl,
    KOOGATE_APP_ID: DEMO_APP_ID,
    KOOGATE_LOGIN_URL: sandbox.loginUrlTemplate,
    KOOGATE_KIT_ACCESS_KEY: secrets.accessKey,
    KOOGATE_BASIC_ACCESS_KEY: secrets.basicAccessKey,
    KOOGATE_RSA_PRIVATE_KEY: secrets.privateKeyPem,
    KOOGATE_SESSION_SECRET: secrets.sessionSecret,
    ...(secrets.encryptionKey ? { KOOGATE_ENCRYPTION_KEYS: secrets.encryptionKey } : {}),
    KOOGATE_ALLOW_HTTP_MARKETPLACE: 'true',
    KOOGATE_MARKETPLACE_LOGOUT_URL: `${sandbox.url}/t/{tenant}/api/v1/logout?redirect_url={redirect_url}`,
    KOOGATE_PUBLIC_PATHS: '/,/favicon.ico',
  };
}

/** A tenant's instances with their order details, from koogate's directory API. */
async function subscriptionsOf(koogateUrl: string, apiToken: string, tenantId: string): Promise<DemoSubscription[]> {
  const res = await fetch(`${koogateUrl}/_koogate/api/tenants/${encodeURIComponent(tenantId)}/instances`, { headers: { authorization: `Bearer ${apiToken}` }, signal: AbortSignal.timeout(2000) });
  if (!res.ok) return [];
  const { items } = (await res.json()) as { items: { instanceId: string; status: string; orderDetails: { state: string; orderId: string; details?: Record<string, unknown> } | null }[] };
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return items.map((i) => {
    const d = i.orderDetails?.details;
    const buyer = d?.buyer as { customerName?: unknown } | undefined;
    return {
      instanceId: i.instanceId,
      status: i.status,
      orderId: i.orderDetails?.orderId,
      orderType: text(d?.orderType),
      chargingMode: text(d?.chargingMode),
      expireTime: text(d?.expireTime),
      customerName: text(buyer?.customerName),
      orderState: i.orderDetails?.state,
    };
  });
}

/** koogate's order query and usage push aimed at the stand-in, which knows the stack's keys. */
export function openApiEnv(sandbox: Sandbox, secrets: StackSecrets): Record<string, string> {
  sandbox.orderQuery.keys.set(secrets.aksk.ak, secrets.aksk.sk);
  sandbox.usageIntake.basicKey = secrets.basicAccessKey;
  return { KOOGATE_MARKETPLACE_API_URL: sandbox.url, KOOGATE_MARKETPLACE_AK: secrets.aksk.ak, KOOGATE_MARKETPLACE_SK: secrets.aksk.sk };
}

export function newSecrets(): StackSecrets {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  return {
    accessKey: `demo-${randomBytes(16).toString('hex')}`,
    basicAccessKey: `demo-basic-${randomBytes(16).toString('hex')}`,
    aksk: { ak: `DEMOAK${randomBytes(8).toString('hex').toUpperCase()}`, sk: `demo-sk-${randomBytes(20).toString('hex')}` },
    sessionSecret: randomBytes(32).toString('hex'),
    encryptionKey: randomBytes(32).toString('hex'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * koogate in front of the demo app, logging in through the stand-in marketplace: the built-in demo of
 * `npm start`, and the stack the integration and browser tests run. The sandbox learns tenants the real
 * way: by signed kit-sync calls with an RSA-OAEP encrypted client secret.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const secrets = opts.secrets ?? newSecrets();
  const ownSandbox = !opts.sandbox;
  const sandbox = opts.sandbox ?? (await startSandbox({ tenants: opts.tenants }));
  // The demo app shows the organisation's orders from koogate's directory API, once koogate listens.
  const apiToken = opts.openApi ? (opts.env?.KOOGATE_API_TOKEN ?? `demo-api-${randomBytes(24).toString('hex')}`) : undefined;
  let koogateUrl: string | undefined;
  const subscriptions = apiToken ? (tenantId: string) => (koogateUrl ? subscriptionsOf(koogateUrl, apiToken, tenantId) : Promise.resolve([])) : undefined;
  const app: Pick<DemoApp, 'url' | 'close'> = opts.upstreamUrl ? { url: opts.upstreamUrl, close: async () => {} } : await startDemoApp({ subscriptions });
  const publicHost = opts.publicHost ?? 'localhost';
  const env: Record<string, string> = {
    ...stackEnv(sandbox, app.url, secrets, opts.port ?? 0, publicHost),
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    ...(opts.openApi ? { ...openApiEnv(sandbox, secrets), KOOGATE_API_TOKEN: apiToken! } : {}),
    ...opts.env,
  };
  if (opts.port === undefined || opts.port === 0) {
    // The public URL names the port, which is known only once koogate listens: bind first, then restart on it.
    const probe = await startKoogate(loadConfig({ ...env }), opts.log.child({ probe: true }));
    const port = new URL(probe.url).port;
    await probe.close();
    env.PORT = port;
    env.KOOGATE_PUBLIC_URL = `http://${publicHost}:${port}`;
  }
  const koogate = await startKoogate(loadConfig(env), opts.log);
  koogateUrl = koogate.url;
  const url = env.KOOGATE_PUBLIC_URL!;
  sandbox.registerApp({ appId: DEMO_APP_ID, callbackUrl: `${url}/_koogate/callback` });
  sandbox.orders.connect({
    url: `${koogate.url}${env.KOOGATE_PRODUCE_PATH ?? DEFAULT_PRODUCE_PATH}`,
    basicAccessKey: secrets.basicAccessKey,
    kitAccessKey: secrets.accessKey,
    publicKey: loadPublicKey(secrets.publicKeyPem),
    appId: DEMO_APP_ID,
  });

  const stack: Stack = {
    koogate,
    sandbox,
    app,
    url,
    ordersUrl: `${sandbox.url}${ORDERS_PATH}`,
    secrets,
    syncTenants: () => syncTenants(sandbox, koogate.url, secrets),
    async purchase() {
      for (const t of sandbox.tenants) await sandbox.orders.purchase(t);
    },
    async close() {
      await koogate.close();
      await app.close();
      if (ownSandbox) await sandbox.close();
    },
  };
  return stack;
}
