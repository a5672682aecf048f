import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/config';
import { isSetting, type Schema, type Setting } from '../../src/config/kinds';
import { SCHEMA } from '../../src/config/schema';

/*
 * The deployment files checked against koogate itself: every variable they set is a setting of the
 * schema, the production configuration they give is one loadConfig accepts, secrets come from files,
 * and the probes, drain timing, disruption budget and security settings fit what koogate does. Each
 * check returns the problems it finds; the second half of this file breaks the files one way at a time
 * and expects the matching problem, so no check passes by accident.
 */

const REPO = join(__dirname, '..', '..');
const DEPLOY = join(REPO, 'deploy');
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; license: string; engines: { node: string } };

/** main.ts exits on its own this long after the grace period, should a drain hang (STOP_MARGIN_MS). */
const STOP_MARGIN_SECONDS = 10;

function settingsOf(schema: Schema): Setting<unknown>[] {
  return Object.values(schema).flatMap((x) => (isSetting(x) ? [x] : settingsOf(x)));
}
const SETTINGS = settingsOf(SCHEMA);
/** Every variable koogate reads, and the setting it belongs to. */
const VARIABLES = new Map<string, { setting: Setting<unknown>; viaFile: boolean }>(
  SETTINGS.flatMap((s) => [[s.env, { setting: s, viaFile: false }] as const, ...(s.file ? [[`${s.env}_FILE`, { setting: s, viaFile: true }] as const] : [])]),
);
const setting = (env: string): Setting<unknown> => SETTINGS.find((s) => s.env === env)!;
/** What an unset setting is, as the schema's default shows it. */
const defaultOf = (env: string): string => setting(env).shownDefault!;

/** Where a deployment's variable gets its value. */
type Source =
  | { kind: 'literal'; value: string }
  /** A `_FILE` variable naming a mounted secret file (`secret`) or some other path. */
  | { kind: 'file'; path: string; secret: boolean }
  /** Kubernetes' valueFrom.secretKeyRef. */
  | { kind: 'secretRef' };
type DeployedEnv = Map<string, Source>;

const literal = (env: DeployedEnv, name: string): string | undefined => {
  const s = env.get(name);
  return s?.kind === 'literal' ? s.value : undefined;
};

/** A literal that holds no secret even for a secret setting: a URL without credentials (REDIS_URL on a private network). */
function carriesNoSecret(value: string): boolean {
  try {
    const u = new URL(value);
    return u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

let rsaPem: string;
let ecPem: string;
beforeAll(() => {
  rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
});

/** A value the setting accepts, different for each setting (so that keys which must differ do). */
function standIn(s: Setting<unknown>): string {
  const candidates = [`${s.env.toLowerCase()}-${randomBytes(24).toString('hex')}`, rsaPem, ecPem, 'redis://redis.invalid:6379'];
  const good = candidates.find((c) => {
    let bad = false;
    s.parse(c, () => (bad = true));
    return !bad;
  });
  if (good === undefined) throw new Error(`no stand-in value for ${s.env}`);
  return good;
}

/**
 * The environment rules every deployment file keeps, and the configuration it gives run through
 * loadConfig with NODE_ENV=production: secret files are replaced by files holding stand-in values.
 */
function envProblems(env: DeployedEnv, where: string): string[] {
  const problems: string[] = [];
  const say = (text: string) => void problems.push(`${where}: ${text}`);
  for (const [name, source] of env) {
    if (name === 'NODE_ENV') continue;
    const v = VARIABLES.get(name);
    if (!v) {
      say(`${name} is not a koogate setting`);
      continue;
    }
    if (v.viaFile) {
      if (source.kind !== 'file' || !source.secret) say(`${name} does not name a mounted secret file`);
      if (env.has(v.setting.env)) say(`both ${v.setting.env} and ${name} are set (the variable wins)`);
    } else if (v.setting.secret) {
      if (source.kind === 'literal' && !carriesNoSecret(source.value)) say(`${name} is a secret given as a literal value`);
      if (source.kind === 'file') say(`${name} is set to a path`);
    }
  }
  if (literal(env, 'NODE_ENV') !== 'production') say('NODE_ENV is not production');
  for (const s of SETTINGS.filter((x) => x.required)) {
    if (!env.has(s.env) && !env.has(`${s.env}_FILE`)) say(`${s.env} is required and not set`);
  }
  if (problems.length > 0) return problems;

  const dir = mkdtempSync(join(tmpdir(), 'koogate-deploy-'));
  try {
    const materialised: Record<string, string> = {};
    for (const [name, source] of env) {
      const s = VARIABLES.get(name)?.setting;
      if (source.kind === 'literal') materialised[name] = source.value;
      else if (source.kind === 'secretRef') materialised[name] = standIn(s!);
      else {
        const file = join(dir, name);
        writeFileSync(file, `${standIn(s!)}\n`);
        materialised[name] = file;
      }
    }
    const config = loadConfig(materialised);
    if (!config.redis) say('no shared store: the replicas would not share sessions and tenants');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) say(`production refuses it: ${p}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

/** "40s", "1m30s", "500ms" (compose durations) in seconds. */
function seconds(duration: unknown): number {
  const text = String(duration);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return Number.NaN;
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

// ---------------------------------------------------------------------------------------------------
// Compose

interface ComposeService {
  build?: { context?: string; args?: Record<string, unknown> };
  image?: string;
  command?: string[] | string;
  environment?: Record<string, unknown> | string[];
  secrets?: (string | { source: string; target?: string })[];
  deploy?: { replicas?: number };
  volumes?: (string | { source?: string; target?: string })[];
  stop_grace_period?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  networks?: string[] | Record<string, unknown>;
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean } | null>;
}

/** Compose's `${NAME:-default}` and `${NAME:?message}`, as `docker compose` fills them when NAME is unset (a stand-in for `:?`). */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => (op === '-' ? (arg ?? '') : `stand-in-${name.toLowerCase()}`));
}

function environmentOf(service: ComposeService): Record<string, string> {
  const e = service.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
}

/** The paths a service's secrets are mounted at (/run/secrets/<target>), with the secret's source. */
function composeSecretMounts(service: ComposeService): Map<string, string> {
  return new Map(
    (service.secrets ?? []).map((s) => {
      const { source, target } = typeof s === 'string' ? { source: s, target: s } : { source: s.source, target: s.target ?? s.source };
      return [target.startsWith('/') ? target : `/run/secrets/${target}`, source];
    }),
  );
}

function composeEnv(service: ComposeService): DeployedEnv {
  const mounts = composeSecretMounts(service);
  const env: DeployedEnv = new Map();
  for (const [name, raw] of Object.entries(environmentOf(service))) {
    const value = interpolate(raw);
    env.set(name, name.endsWith('_FILE') ? { kind: 'file', path: value, secret: mounts.has(value) } : { kind: 'literal', value });
  }
  return env;
}

/** A service's first named volume mounted at `target`, as `name:target[:mode]` or the long form. */
function volumeAt(service: ComposeService, target: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const [source, at] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    if (at === target) return source;
  }
  return undefined;
}

function composeProblems(compose: Compose, lbConfig: string): string[] {
  const problems: string[] = [];
  const koogate = compose.services.koogate;
  if (!koogate) return ['compose: no koogate service'];
  problems.push(...envProblems(composeEnv(koogate), 'compose koogate'));
  const env = environmentOf(koogate);
  if (koogate.deploy?.replicas !== 2) problems.push('compose: koogate does not run 2 replicas');

  for (const [path, source] of composeSecretMounts(koogate)) {
    const declared = compose.secrets?.[source];
    if (!declared?.file) problems.push(`compose: secret ${source} (${path}) is not read from a file`);
    else if (!posix.normalize(declared.file).startsWith('secrets/')) problems.push(`compose: secret ${source} lies outside deploy/secrets/ (${declared.file})`);
  }

  const grace = Number(env.KOOGATE_SHUTDOWN_GRACE_SECONDS ?? defaultOf('KOOGATE_SHUTDOWN_GRACE_SECONDS'));
  if (!(seconds(koogate.stop_grace_period ?? '10s') > grace + STOP_MARGIN_SECONDS)) {
    problems.push(`compose: stop_grace_period (${koogate.stop_grace_period ?? '10s, the default'}) is not above KOOGATE_SHUTDOWN_GRACE_SECONDS + ${STOP_MARGIN_SECONDS} s`);
  }
  if (koogate.read_only !== true || !koogate.cap_drop?.includes('ALL') || !koogate.security_opt?.includes('no-new-privileges:true')) {
    problems.push('compose: koogate is not read_only with every capability dropped and no-new-privileges');
  }

  const redis = Object.entries(compose.services).find(([, s]) => /^redis:/.test(s.image ?? ''));
  if (!redis) problems.push('compose: no Redis service');
  else {
    const [name, service] = redis;
    const command = Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
    if (!/--appendonly\s+yes\b/.test(command)) problems.push('compose: Redis runs without --appendonly yes');
    const data = volumeAt(service, '/data');
    if (!data || !(data in (compose.volumes ?? {}))) problems.push('compose: Redis keeps /data on no named volume');
    if (env.REDIS_URL && new URL(env.REDIS_URL).hostname !== name) problems.push(`compose: REDIS_URL does not point at the ${name} service`);
  }

  const upstream = new URL(interpolate(env.KOOGATE_UPSTREAM_URL ?? 'http://none.invalid'));
  const app = compose.services[upstream.hostname];
  if (!app) problems.push(`compose: KOOGATE_UPSTREAM_URL names no service (${upstream.hostname})`);
  else {
    const entry = Array.isArray(app.command) ? app.command.find((c) => c.startsWith('dist/')) : undefined;
    if (!entry || !existsSync(join(REPO, entry.replace(/^dist\//, '').replace(/\.js$/, '.ts')))) problems.push(`compose: the upstream service runs no entry of src/ (${String(app.command)})`);
    if (environmentOf(app).PORT !== upstream.port) problems.push(`compose: the upstream service does not listen on KOOGATE_UPSTREAM_URL's port ${upstream.port}`);
  }

  // The load balancer spreads over the koogate replicas and takes a draining one out by its readyz.
  const port = env.PORT ?? defaultOf('PORT');
  if (!lbConfig.includes(`koogate:${port}`)) problems.push(`compose: the load balancer does not send to koogate:${port}`);
  if (!/option httpchk GET \/_koogate\/readyz\b/.test(lbConfig)) problems.push('compose: the load balancer does not check /_koogate/readyz');
  const lb = Object.values(compose.services).find((s) => (s.volumes ?? []).some((v) => typeof v === 'string' && v.startsWith('./haproxy.cfg:')));
  if (!lb) problems.push('compose: no service mounts haproxy.cfg');
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

interface EnvVar {
  name: string;
  value?: unknown;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path?: string; port?: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type?: string };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds?: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  volumes?: { name: string; secret?: { secretName: string; items?: unknown[] } }[];
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } | Record<string, string>;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    ports?: { name?: string; port: number; targetPort?: number | string }[];
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

const find = (manifests: Manifest[], kind: string, name?: string) => manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** koogate's environment in the Deployment: the ConfigMap's keys, then the container's env. */
function kubernetesEnv(manifests: Manifest[], c: Container, pod: PodSpec): DeployedEnv {
  const env: DeployedEnv = new Map();
  for (const from of c.envFrom ?? []) {
    const cm = from.configMapRef && find(manifests, 'ConfigMap', from.configMapRef.name);
    for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(k, { kind: 'literal', value: String(v) });
    // A whole Secret as variables would put every secret in the environment.
    if (from.secretRef) env.set(`envFrom secretRef ${from.secretRef.name}`, { kind: 'secretRef' });
  }
  // Paths of the mounted Secrets' keys.
  const secretFiles = new Set<string>();
  for (const mount of c.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === mount.name)?.secret;
    const secret = volume && !volume.items ? find(manifests, 'Secret', volume.secretName) : undefined;
    for (const key of Object.keys({ ...secret?.data, ...secret?.stringData })) secretFiles.add(posix.join(mount.mountPath, key));
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    const cmRef = e.valueFrom?.configMapKeyRef;
    if (ref) {
      const secret = find(manifests, 'Secret', ref.name);
      env.set(e.name, ref.key in { ...secret?.data, ...secret?.stringData } ? { kind: 'secretRef' } : { kind: 'literal', value: '' });
    } else if (cmRef) {
      env.set(e.name, { kind: 'literal', value: String(find(manifests, 'ConfigMap', cmRef.name)?.data?.[cmRef.key] ?? '') });
    } else {
      const value = String(e.value ?? '');
      env.set(e.name, e.name.endsWith('_FILE') ? { kind: 'file', path: value, secret: secretFiles.has(value) } : { kind: 'literal', value });
    }
  }
  return env;
}

/** The container port a probe's port (a number or a port name) is. */
function probePort(c: Container, p: Probe | undefined): number | undefined {
  const port = p?.httpGet?.port;
  return typeof port === 'number' ? port : c.ports?.find((x) => x.name === port)?.containerPort;
}

function preStopSeconds(c: Container): number | undefined {
  const pre = c.lifecycle?.preStop;
  if (pre?.sleep?.seconds !== undefined) return pre.sleep.seconds;
  const cmd = pre?.exec?.command;
  return cmd?.length === 2 && cmd[0] === 'sleep' && /^\d+$/.test(cmd[1]!) ? Number(cmd[1]) : undefined;
}

function hardened(pod: SecurityContext | undefined, c: SecurityContext | undefined): string[] {
  const either = <K extends keyof SecurityContext>(k: K) => c?.[k] ?? pod?.[k];
  const missing: string[] = [];
  if (either('runAsNonRoot') !== true) missing.push('runAsNonRoot');
  if (either('seccompProfile')?.type !== 'RuntimeDefault') missing.push('seccompProfile RuntimeDefault');
  if (c?.allowPrivilegeEscalation !== false) missing.push('allowPrivilegeEscalation false');
  if (c?.readOnlyRootFilesystem !== true) missing.push('readOnlyRootFilesystem');
  if (!c?.capabilities?.drop?.includes('ALL')) missing.push('capabilities drop ALL');
  return missing;
}

function kubernetesProblems(manifests: Manifest[], secretText: string): string[] {
  const problems: string[] = [];
  const say = (text: string) => void problems.push(`kubernetes: ${text}`);
  for (const m of manifests) if (m.metadata.namespace !== undefined) say(`${m.kind} ${m.metadata.name} names a namespace`);
  const deployment = find(manifests, 'Deployment', 'koogate');
  const pod = deployment?.spec?.template?.spec;
  const c = pod?.containers.find((x) => x.name === 'koogate');
  if (!deployment || !pod || !c) return [...problems, 'kubernetes: no koogate Deployment with a koogate container'];
  const podLabels = deployment.spec?.template?.metadata?.labels;

  const env = kubernetesEnv(manifests, c, pod);
  problems.push(...envProblems(env, 'kubernetes koogate'));
  if ((deployment.spec?.replicas ?? 1) < 2) say('the Deployment runs fewer than 2 replicas');

  // Every key of the Secret is a secret setting that koogate reads from its file.
  const secretNames = new Set(pod.volumes?.flatMap((v) => (v.secret ? [v.secret.secretName] : [])));
  for (const secret of manifests.filter((m) => m.kind === 'Secret' && secretNames.has(m.metadata.name))) {
    for (const key of Object.keys({ ...secret.data, ...secret.stringData })) {
      const s = SETTINGS.find((x) => x.env === key);
      if (!s?.secret || !s.file) say(`Secret ${secret.metadata.name} holds ${key}, which is no secret setting read from a file`);
      else if (env.get(`${key}_FILE`)?.kind !== 'file') say(`Secret key ${key} is mounted but ${key}_FILE does not read it`);
    }
  }
  // The Secret's file names every secret that can come from a file, in use or commented out for later.
  for (const s of SETTINGS.filter((x) => x.secret && x.file)) if (!new RegExp(`\\b${s.env}\\b`).test(secretText)) say(`secret.yaml does not mention ${s.env}`);

  // Probes on koogate's own port.
  const port = Number(literal(env, 'PORT') ?? defaultOf('PORT'));
  if (c.readinessProbe?.httpGet?.path !== '/_koogate/readyz') say('the readinessProbe does not ask /_koogate/readyz');
  if (c.livenessProbe?.httpGet?.path !== '/_koogate/healthz') say('the livenessProbe does not ask /_koogate/healthz');
  for (const [name, p] of [['readinessProbe', c.readinessProbe], ['livenessProbe', c.livenessProbe], ['startupProbe', c.startupProbe]] as const) {
    if (p && probePort(c, p) !== port) say(`the ${name} asks port ${String(p.httpGet?.port)}, not koogate's PORT ${port}`);
  }
  // A pod waits for Redis before it listens: the startupProbe must give it that long.
  const storeWait = Number(literal(env, 'KOOGATE_STORE_WAIT_SECONDS') ?? defaultOf('KOOGATE_STORE_WAIT_SECONDS'));
  const startup = c.startupProbe ? (c.startupProbe.periodSeconds ?? 10) * (c.startupProbe.failureThreshold ?? 3) : 0;
  if (!(startup > storeWait)) say(`the startupProbe allows ${startup} s, not more than KOOGATE_STORE_WAIT_SECONDS (${storeWait})`);

  // The drain: preStop sleep, then SIGTERM and the grace period, then koogate's own exit margin.
  const grace = Number(literal(env, 'KOOGATE_SHUTDOWN_GRACE_SECONDS') ?? defaultOf('KOOGATE_SHUTDOWN_GRACE_SECONDS'));
  const preStop = preStopSeconds(c);
  if (preStop === undefined || preStop < 1) say('no preStop sleep: endpoints may still send to a pod that stopped accepting');
  const budget = pod.terminationGracePeriodSeconds ?? 30;
  if (!(budget > (preStop ?? 0) + grace + STOP_MARGIN_SECONDS)) {
    say(`terminationGracePeriodSeconds ${budget} is not above preStop ${preStop ?? 0} s + KOOGATE_SHUTDOWN_GRACE_SECONDS ${grace} s + ${STOP_MARGIN_SECONDS} s`);
  }

  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) say(`no ${r} in resources.${kind}`);
  }
  const missing = hardened(pod.securityContext, c.securityContext);
  if (missing.length > 0) say(`the container is not hardened: ${missing.join(', ')}`);
  if ((c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser) !== 1000) say("it does not run as the image's node user (1000)");

  const pdb = find(manifests, 'PodDisruptionBudget');
  const pdbSelector = (pdb?.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  if (!pdb || !selects(pdbSelector, podLabels)) say("no PodDisruptionBudget selects koogate's pods");
  else if (typeof pdb.spec?.minAvailable === 'number' && pdb.spec.minAvailable >= (deployment.spec?.replicas ?? 1)) say('the PodDisruptionBudget would block every node drain');
  else if (pdb.spec?.minAvailable === undefined && pdb.spec?.maxUnavailable === undefined) say('the PodDisruptionBudget bounds nothing');

  const service = manifests.find((m) => m.kind === 'Service' && selects(m.spec?.selector as Record<string, string>, podLabels));
  const target = service?.spec?.ports?.[0]?.targetPort;
  if (!service || probePort(c, { httpGet: { port: target } }) !== port) say("no Service sends to koogate's port");

  // Redis, when it is part of the manifests: AOF on a persistent volume.
  const redis = manifests.find((m) => m.kind === 'StatefulSet' && m.spec?.template?.spec.containers.some((x) => /^redis:/.test(x.image ?? '')));
  if (redis) {
    const r = redis.spec!.template!.spec.containers.find((x) => /^redis:/.test(x.image ?? ''))!;
    if (!/--appendonly yes\b/.test((r.args ?? []).join(' '))) say('Redis runs without --appendonly yes');
    const claims = new Set(redis.spec?.volumeClaimTemplates?.map((v) => v.metadata.name));
    if (!r.volumeMounts?.some((v) => v.mountPath === '/data' && claims.has(v.name))) say('Redis keeps /data on no persistent volume');
    if (hardened(redis.spec?.template?.spec.securityContext, r.securityContext).length > 0) say('the Redis container is not hardened');
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

function dockerfileProblems(dockerfile: string): string[] {
  const problems: string[] = [];
  const say = (text: string) => void problems.push(`Dockerfile: ${text}`);
  const minMajor = Number(/^>=\s*(\d+)/.exec(PKG.engines.node)?.[1]);
  const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
  if (froms.length === 0) say('no FROM');
  for (const image of froms) {
    const m = /^node:(\d+)(?:\.[\d.]+)?-/.exec(image);
    const major = Number(m?.[1]);
    if (!m) say(`${image} is not a node image of a pinned major version`);
    // Even majors are the LTS lines.
    else if (major < minMajor || major % 2 !== 0) say(`${image} is not a Node LTS that engines (${PKG.engines.node}) allows`);
  }
  const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const labels = new Map([...final.matchAll(/(org\.opencontainers\.image\.[a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  for (const l of ['title', 'description', 'version', 'source', 'licenses', 'revision']) {
    if (!labels.has(`org.opencontainers.image.${l}`)) say(`the image has no org.opencontainers.image.${l} label`);
  }
  if (labels.get('org.opencontainers.image.version') !== '${VERSION}') say('the version label is not the VERSION build argument');
  if (labels.get('org.opencontainers.image.revision') !== '${REVISION}') say('the revision label is not the REVISION build argument');
  if (labels.get('org.opencontainers.image.licenses') !== PKG.license) say(`the licenses label is not package.json's (${PKG.license})`);
  if (!new RegExp(`^ARG VERSION=${PKG.version.replace(/\./g, '\\.')}$`, 'm').test(final)) say(`ARG VERSION does not default to package.json's version ${PKG.version}`);
  if (!/^ARG REVISION\b/m.test(final)) say('no ARG REVISION');
  if (!/^USER node$/m.test(final)) say('the image does not run as the node user');
  // README's `docker exec … kit send … --data examples/…` needs the samples in the image.
  if (!/^COPY\b.*\bexamples \.\/examples$/m.test(final)) say('examples/ is not in the image');
  return problems;
}

/** What must never reach the build context, each as a path the ignore file has to cover. */
const NEVER_SENT = ['.env', '.env.production', 'deploy/secrets/session-secret', 'secrets/encryption-keys', 'merchant-private.pem', 'keys/a', 'config/tls.key', 'certs/app.p12'];

/** Whether a .dockerignore pattern (Go filepath.Match with `**`) excludes the path or a folder above it. */
function ignores(patterns: string[], path: string): boolean {
  const toRegExp = (p: string) =>
    new RegExp(
      `^${p
        .replace(/\/$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '(?:.*/)?')}$`,
    );
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegExp(negate ? raw.slice(1) : raw);
    if (prefixes.some((p) => re.test(p))) excluded = !negate;
  }
  return excluded;
}

function dockerignoreProblems(dockerignore: string, gitignore: string): string[] {
  const patterns = dockerignore.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const problems = NEVER_SENT.filter((p) => !ignores(patterns, p)).map((p) => `.dockerignore: ${p} would be sent to the build`);
  const git = gitignore.split('\n').map((l) => l.trim());
  if (!git.includes('deploy/secrets/')) problems.push('.gitignore: deploy/secrets/ is not ignored');
  return problems;
}

// ---------------------------------------------------------------------------------------------------

interface DeployFiles {
  compose: Compose;
  haproxy: string;
  manifests: Manifest[];
  secretText: string;
  dockerfile: string;
  dockerignore: string;
  gitignore: string;
}

const read = (...path: string[]) => readFileSync(join(...path), 'utf8');

function loadFiles(): DeployFiles {
  const kustomization = parse(read(DEPLOY, 'kubernetes', 'kustomization.yaml')) as { resources: string[] };
  const manifests = kustomization.resources.flatMap((file) =>
    parseAllDocuments(read(DEPLOY, 'kubernetes', file)).map((d) => {
      if (d.errors.length > 0) throw d.errors[0]!;
      return d.toJS() as Manifest;
    }),
  );
  return {
    compose: parse(read(DEPLOY, 'compose.yaml'), { merge: true }) as Compose,
    haproxy: read(DEPLOY, 'haproxy.cfg'),
    manifests,
    secretText: read(DEPLOY, 'kubernetes', 'secret.yaml'),
    dockerfile: read(REPO, 'Dockerfile'),
    dockerignore: read(REPO, '.dockerignore'),
    gitignore: read(REPO, '.gitignore'),
  };
}

let files: DeployFiles;
beforeAll(() => {
  files = loadFiles();
});
const copy = (): DeployFiles => structuredClone(files);

describe('deploy files as they are', () => {
  test('compose: 2 koogate replicas in production mode behind HAProxy, Redis with AOF, the demo app upstream, secrets from files', () => {
    expect(composeProblems(files.compose, files.haproxy)).toEqual([]);
  });

  test('kubernetes: settings of the schema, secrets as files, probes, drain timing, PDB, resources, security context', () => {
    expect(kubernetesProblems(files.manifests, files.secretText)).toEqual([]);
  });

  test('the Dockerfile: a Node LTS that engines allows, OCI labels, the version of package.json', () => {
    expect(dockerfileProblems(files.dockerfile)).toEqual([]);
  });

  test('secrets and keys never reach the build context or git', () => {
    expect(dockerignoreProblems(files.dockerignore, files.gitignore)).toEqual([]);
  });

  test('the images are tagged with the version of package.json', () => {
    expect(files.compose.services.koogate!.image).toBe(`koogate:${PKG.version}`);
    expect(files.compose.services.koogate!.build?.args?.VERSION).toBe(PKG.version);
    expect(find(files.manifests, 'Deployment', 'koogate')!.spec!.template!.spec.containers[0]!.image).toBe(`koogate:${PKG.version}`);
  });
});

/** The Deployment's koogate container and pod of a copy, for breaking. */
function k8s(f: DeployFiles): { pod: PodSpec; c: Container; cm: Record<string, unknown>; secret: Manifest } {
  const pod = find(f.manifests, 'Deployment', 'koogate')!.spec!.template!.spec;
  return { pod, c: pod.containers[0]!, cm: find(f.manifests, 'ConfigMap', 'koogate')!.data!, secret: find(f.manifests, 'Secret', 'koogate')! };
}
const koogateService = (f: DeployFiles) => f.compose.services.koogate!;
const composeEnvMap = (f: DeployFiles) => koogateService(f).environment as Record<string, unknown>;

describe('each check fails when a file is broken', () => {
  const composeCases: [string, (f: DeployFiles) => void, RegExp][] = [
    ['an unknown variable', (f) => void (composeEnvMap(f).KOOGATE_SESION_SECRET = 'x'), /KOOGATE_SESION_SECRET is not a koogate setting/],
    ['a _FILE of a setting that has none', (f) => void (composeEnvMap(f).KOOGATE_APP_ID_FILE = '/run/secrets/app-id'), /KOOGATE_APP_ID_FILE is not a koogate setting/],
    ['a secret as a literal', (f) => void (composeEnvMap(f).KOOGATE_ADMIN_TOKEN = 'a'.repeat(40)), /KOOGATE_ADMIN_TOKEN is a secret given as a literal/],
    ['a Redis URL with a password', (f) => void (composeEnvMap(f).REDIS_URL = 'redis://:hunter2hunter2@redis:6379'), /REDIS_URL is a secret given as a literal/],
    [
      'a _FILE naming no mounted secret',
      (f) => void (koogateService(f).secrets = koogateService(f).secrets!.filter((s) => s !== 'session-secret')),
      /KOOGATE_SESSION_SECRET_FILE does not name a mounted secret file/,
    ],
    ['a required setting missing', (f) => void delete composeEnvMap(f).KOOGATE_UPSTREAM_URL, /KOOGATE_UPSTREAM_URL is required and not set/],
    ['the encryption keys missing', (f) => void delete composeEnvMap(f).KOOGATE_ENCRYPTION_KEYS_FILE, /production refuses it: KOOGATE_ENCRYPTION_KEYS/],
    ['no Redis', (f) => void delete composeEnvMap(f).REDIS_URL, /production refuses it: KOOGATE_STORE=redis needs/],
    ['not production', (f) => void (composeEnvMap(f).NODE_ENV = 'development'), /NODE_ENV is not production/],
    ['an invalid value', (f) => void (composeEnvMap(f).KOOGATE_TRUST_PROXY = 'yes please'), /production refuses it: KOOGATE_TRUST_PROXY/],
    ['one replica', (f) => void (koogateService(f).deploy = { replicas: 1 }), /does not run 2 replicas/],
    ['Redis without AOF', (f) => void (f.compose.services.redis!.command = ['redis-server']), /without --appendonly yes/],
    ['Redis without its volume', (f) => void (f.compose.services.redis!.volumes = []), /Redis keeps \/data on no named volume/],
    ['a short stop grace period', (f) => void (koogateService(f).stop_grace_period = '30s'), /stop_grace_period \(30s\) is not above/],
    ['a secret file outside deploy/secrets/', (f) => void (f.compose.secrets!['session-secret']!.file = '../session-secret'), /lies outside deploy\/secrets/],
    ['a writable root filesystem', (f) => void (koogateService(f).read_only = false), /not read_only/],
    ['an upstream that is no service', (f) => void (composeEnvMap(f).KOOGATE_UPSTREAM_URL = 'http://isv-app:3000'), /names no service \(isv-app\)/],
    ['an upstream on another port', (f) => void (composeEnvMap(f).KOOGATE_UPSTREAM_URL = 'http://demo-app:3001'), /does not listen on KOOGATE_UPSTREAM_URL's port 3001/],
    ['a load balancer without readyz', (f) => void (f.haproxy = f.haproxy.replace('option httpchk GET /_koogate/readyz', 'option httpchk GET /')), /does not check \/_koogate\/readyz/],
    ['a load balancer on another port', (f) => void (composeEnvMap(f).PORT = '9000'), /does not send to koogate:9000/],
  ];
  test.each(composeCases)('compose: %s', (_name, breakIt, problem) => {
    const f = copy();
    breakIt(f);
    expect(composeProblems(f.compose, f.haproxy).join('\n')).toMatch(problem);
  });

  const k8sCases: [string, (f: DeployFiles) => void, RegExp][] = [
    ['an unknown ConfigMap key', (f) => void (k8s(f).cm.KOOGATE_UPSTREAM = 'http://x'), /KOOGATE_UPSTREAM is not a koogate setting/],
    ['a secret in the ConfigMap', (f) => void (k8s(f).cm.KOOGATE_SESSION_SECRET = 's'.repeat(40)), /KOOGATE_SESSION_SECRET is a secret given as a literal[\s\S]*both KOOGATE_SESSION_SECRET and/],
    ['a secret as a literal env value', (f) => void k8s(f).c.env!.push({ name: 'KOOGATE_WEBHOOK_SECRET', value: 'w'.repeat(40) }), /KOOGATE_WEBHOOK_SECRET is a secret given as a literal/],
    ['a whole Secret as variables', (f) => void k8s(f).c.envFrom!.push({ secretRef: { name: 'koogate' } }), /envFrom secretRef koogate is not a koogate setting/],
    [
      'a _FILE naming a key the Secret lacks',
      (f) => void delete (k8s(f).secret.stringData as Record<string, unknown>).KOOGATE_ADMIN_TOKEN,
      /KOOGATE_ADMIN_TOKEN_FILE does not name a mounted secret file/,
    ],
    ['a Secret key nobody reads', (f) => void ((k8s(f).secret.stringData as Record<string, unknown>).KOOGATE_WEBHOOK_SECRET = 'x'), /Secret key KOOGATE_WEBHOOK_SECRET is mounted but/],
    ['a Secret key that is no secret setting', (f) => void ((k8s(f).secret.stringData as Record<string, unknown>).KOOGATE_APP_ID = 'x'), /holds KOOGATE_APP_ID, which is no secret setting/],
    ['a secret setting secret.yaml never mentions', (f) => void (f.secretText = f.secretText.replaceAll('KOOGATE_ASSERTION_KEY', '')), /secret.yaml does not mention KOOGATE_ASSERTION_KEY/],
    ['the Secret volume gone', (f) => void (k8s(f).c.volumeMounts = []), /KOOGATE_SESSION_SECRET_FILE does not name a mounted secret file/],
    ['a required setting missing', (f) => void delete k8s(f).cm.KOOGATE_APP_ID, /KOOGATE_APP_ID is required and not set/],
    ['not production', (f) => void delete k8s(f).cm.NODE_ENV, /NODE_ENV is not production/],
    ['no Redis', (f) => void (k8s(f).c.env = k8s(f).c.env!.filter((e) => e.name !== 'REDIS_URL_FILE')), /production refuses it: KOOGATE_STORE=redis needs/],
    ['one replica', (f) => void (find(f.manifests, 'Deployment')!.spec!.replicas = 1), /fewer than 2 replicas/],
    ['readiness on healthz', (f) => void (k8s(f).c.readinessProbe!.httpGet!.path = '/_koogate/healthz'), /readinessProbe does not ask \/_koogate\/readyz/],
    ['liveness on readyz', (f) => void (k8s(f).c.livenessProbe!.httpGet!.path = '/_koogate/readyz'), /livenessProbe does not ask \/_koogate\/healthz/],
    ['a probe on another port', (f) => void (k8s(f).c.livenessProbe!.httpGet!.port = 9464), /livenessProbe asks port 9464/],
    ['PORT moved but not the probes', (f) => void (k8s(f).cm.PORT = '9000'), /readinessProbe asks port http, not koogate's PORT 9000/],
    ['a startupProbe shorter than the store wait', (f) => void (k8s(f).cm.KOOGATE_STORE_WAIT_SECONDS = '120'), /startupProbe allows 90 s, not more than KOOGATE_STORE_WAIT_SECONDS \(120\)/],
    ['no preStop', (f) => void delete k8s(f).c.lifecycle, /no preStop sleep/],
    ['a grace period too short for the drain', (f) => void (k8s(f).pod.terminationGracePeriodSeconds = 30), /terminationGracePeriodSeconds 30 is not above preStop 5 s \+ KOOGATE_SHUTDOWN_GRACE_SECONDS 25 s/],
    ['a longer drain configured', (f) => void (k8s(f).cm.KOOGATE_SHUTDOWN_GRACE_SECONDS = '40'), /terminationGracePeriodSeconds 45 is not above preStop 5 s \+ KOOGATE_SHUTDOWN_GRACE_SECONDS 40 s/],
    ['a longer preStop sleep', (f) => void (k8s(f).c.lifecycle!.preStop = { sleep: { seconds: 15 } }), /terminationGracePeriodSeconds 45 is not above preStop 15 s/],
    ['no memory limit', (f) => void delete k8s(f).c.resources!.limits!.memory, /no memory in resources.limits/],
    ['no requests', (f) => void delete k8s(f).c.resources!.requests, /no cpu in resources.requests/],
    ['a writable root filesystem', (f) => void (k8s(f).c.securityContext!.readOnlyRootFilesystem = false), /not hardened: readOnlyRootFilesystem/],
    ['privilege escalation', (f) => void delete k8s(f).c.securityContext!.allowPrivilegeEscalation, /not hardened: allowPrivilegeEscalation false/],
    ['capabilities kept', (f) => void (k8s(f).c.securityContext!.capabilities = { drop: ['NET_RAW'] }), /not hardened: capabilities drop ALL/],
    ['no seccomp profile', (f) => void delete k8s(f).pod.securityContext!.seccompProfile, /not hardened: seccompProfile RuntimeDefault/],
    ['root allowed', (f) => void ((k8s(f).pod.securityContext!.runAsNonRoot = false), delete k8s(f).c.securityContext!.runAsNonRoot), /not hardened: runAsNonRoot/],
    ['another user', (f) => void (k8s(f).c.securityContext!.runAsUser = 0), /node user \(1000\)/],
    ['no PodDisruptionBudget', (f) => void (f.manifests = f.manifests.filter((m) => m.kind !== 'PodDisruptionBudget')), /no PodDisruptionBudget selects/],
    ['a PodDisruptionBudget that blocks drains', (f) => void (find(f.manifests, 'PodDisruptionBudget')!.spec!.minAvailable = 2), /would block every node drain/],
    ['a Service to another port', (f) => void (find(f.manifests, 'Service', 'koogate')!.spec!.ports![0]!.targetPort = 9464), /no Service sends to koogate's port/],
    ['a namespace', (f) => void (find(f.manifests, 'Service', 'koogate')!.metadata.namespace = 'prod'), /Service koogate names a namespace/],
    [
      'Redis without AOF',
      (f) => void (find(f.manifests, 'StatefulSet')!.spec!.template!.spec.containers[0]!.args = ['--appendonly', 'no']),
      /Redis runs without --appendonly yes/,
    ],
    ['Redis without its volume', (f) => void delete find(f.manifests, 'StatefulSet')!.spec!.volumeClaimTemplates, /Redis keeps \/data on no persistent volume/],
  ];
  test.each(k8sCases)('kubernetes: %s', (_name, breakIt, problem) => {
    const f = copy();
    breakIt(f);
    expect(kubernetesProblems(f.manifests, f.secretText).join('\n')).toMatch(problem);
  });

  const dockerCases: [string, (d: string) => string, RegExp][] = [
    ['an odd Node major', (d) => d.replaceAll('node:24-', 'node:23-'), /node:23-bookworm-slim is not a Node LTS/],
    ['a Node older than engines', (d) => d.replaceAll('node:24-', 'node:18-'), /node:18-bookworm-slim is not a Node LTS that engines/],
    ['an unpinned base image', (d) => d.replace(/FROM node:24-bookworm-slim$/m, 'FROM node:bookworm-slim'), /is not a node image of a pinned major/],
    ['a label missing', (d) => d.replace(/^\s*org\.opencontainers\.image\.source=.*\n/m, ''), /no org.opencontainers.image.source label/],
    ['a literal version label', (d) => d.replace('image.version="${VERSION}"', 'image.version="0.1.0"'), /version label is not the VERSION build argument/],
    ['a version other than package.json', (d) => d.replace(/^ARG VERSION=.*$/m, 'ARG VERSION=9.9.9'), /ARG VERSION does not default to package.json's version/],
    ['no revision argument', (d) => d.replace(/^ARG REVISION.*\n/m, ''), /no ARG REVISION/],
    ['running as root', (d) => d.replace(/^USER node$/m, ''), /does not run as the node user/],
    ['no examples', (d) => d.replace(/^COPY .*examples \.\/examples\n/m, ''), /examples\/ is not in the image/],
  ];
  test.each(dockerCases)('Dockerfile: %s', (_name, breakIt, problem) => {
    const broken = breakIt(files.dockerfile);
    expect(broken).not.toBe(files.dockerfile);
    expect(dockerfileProblems(broken).join('\n')).toMatch(problem);
  });

  test.each([
    ['**/*.pem', 'merchant-private.pem'],
    ['**/secrets/', 'secrets/encryption-keys'],
    ['**/.env.*', '.env.production'],
    ['**/.env', '.env'],
    ['**/*.key', 'config/tls.key'],
    ['**/*.p12', 'certs/app.p12'],
    ['**/keys/', 'keys/a'],
  ])('.dockerignore without %s lets %s through', (pattern, path) => {
    const without = files.dockerignore.split('\n').filter((l) => l.trim() !== pattern).join('\n');
    expect(without).not.toBe(files.dockerignore);
    expect(dockerignoreProblems(without, files.gitignore).join('\n')).toContain(path);
  });

  test('.gitignore without deploy/secrets/', () => {
    expect(dockerignoreProblems(files.dockerignore, files.gitignore.replace('deploy/secrets/', '')).join('\n')).toMatch(/deploy\/secrets\/ is not ignored/);
  });
});
