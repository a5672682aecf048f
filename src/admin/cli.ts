import { userInfo } from 'node:os';
import { ConfigError, loadConfig } from '../config/config';
import { createLogger } from '../observability/logger';
import { AuditLog } from './audit';
import type { Config } from '../config/config';
import type { Logger } from '../observability/logger';
import { adminOperations, type AdminOperations, type AdminState, type ResealCounts } from './operations';
import { deadLetterView, sessionView } from './routes';

export const ADMIN_USAGE = `  koogate sessions list --tenant <tenantId> [--user <userName>] [--json]
  koogate sessions end  --tenant <tenantId> [--user <userName>] [--json]
  koogate webhook dead-letters list [--json]
  koogate webhook dead-letters redeliver (--id <eventId> [--id …] | --all) [--json]
  koogate keys reseal [--json]

The admin commands act on the store the environment configures (REDIS_URL, or REDIS_SENTINELS /
REDIS_CLUSTER_NODES) with the same settings as koogate's replicas, e.g. inside the container:
docker exec koogate node dist/src/cli.js sessions list --tenant t-acme

  sessions list     a tenant's (or one user's) live sessions: user, login, last seen, expiry and a
                    stable reference; never a session id or a token
  sessions end      log out everywhere: every replica drops the sessions at once and closes their
                    websockets; the count is printed
  webhook dead-letters list       webhook events given up on (id, interface, tenant, attempts, error)
  webhook dead-letters redeliver  put them back in the delivery queue (same event id, retries afresh)
  keys reseal       seal every stored client secret and session token under the first key of
                    KOOGATE_ENCRYPTION_KEYS; when nothing is left unreadable, older keys can be removed
  --json            print the answer as JSON, as the admin API gives it

Every action writes an audit line (JSON, on stderr): who (cli:<os user>), what and how many.
Exit status: 0 done; 1 done in part (an id that is no dead letter, a value no key opens) or the store
failed; 2 on a usage or configuration error.`;

export const ADMIN_GROUPS = ['sessions', 'webhook', 'keys'] as const;

type Command =
  | { kind: 'sessions.list' | 'sessions.end'; tenantId: string; userName?: string }
  | { kind: 'dead-letters.list' }
  | { kind: 'dead-letters.redeliver'; ids: string[] | 'all' }
  | { kind: 'keys.reseal' };

interface Parsed {
  command: Command;
  json: boolean;
}

export class AdminUsageError extends Error {
  override name = 'AdminUsageError';
}

/** Parses one admin command line; throws AdminUsageError with a message a person can act on. */
export function parseAdminArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '--json' || flag === '--all') flags.add(flag);
    else if (flag === '--tenant' || flag === '--user' || flag === '--id') {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || value.startsWith('--')) throw new AdminUsageError(`${flag} needs a value`);
      if (/[\u0000-\u001f\u007f]/.test(value) || value.length > 256) throw new AdminUsageError(`${flag} must be 1 to 256 visible characters`);
      values.set(flag, [...(values.get(flag) ?? []), value]);
    } else if (arg.startsWith('-')) throw new AdminUsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const once = (flag: string): string | undefined => {
    const v = values.get(flag);
    if (v && v.length > 1) throw new AdminUsageError(`${flag} is given twice`);
    return v?.[0];
  };
  const allow = (...allowed: string[]) => {
    for (const f of [...values.keys(), ...flags]) if (f !== '--json' && !allowed.includes(f)) throw new AdminUsageError(`${f} does not go with "${positional.join(' ')}"`);
  };
  const json = flags.has('--json');
  const words = positional.join(' ');
  if (words === 'sessions list' || words === 'sessions end') {
    allow('--tenant', '--user');
    const tenantId = once('--tenant');
    if (!tenantId) throw new AdminUsageError(`--tenant is required: whose sessions to ${positional[1]}`);
    return { command: { kind: words === 'sessions list' ? 'sessions.list' : 'sessions.end', tenantId, userName: once('--user') }, json };
  }
  if (words === 'webhook dead-letters list') {
    allow();
    return { command: { kind: 'dead-letters.list' }, json };
  }
  if (words === 'webhook dead-letters redeliver') {
    allow('--id', '--all');
    const ids = values.get('--id');
    if (flags.has('--all') === (ids !== undefined)) throw new AdminUsageError('give --id <eventId> (repeatable) or --all');
    return { command: { kind: 'dead-letters.redeliver', ids: ids ?? 'all' }, json };
  }
  if (words === 'keys reseal') {
    allow();
    return { command: { kind: 'keys.reseal' }, json };
  }
  throw new AdminUsageError(`unknown command "${words}"`);
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Opens the configured store and the services over it (the composition root's `openSharedState`). */
export type OpenState = (config: Config, log: Logger) => Promise<AdminState & { close(): Promise<void> }>;

const ADMIN_STORE_WAIT_SECONDS = 3;

/** Runs an admin command against the configured store; resolves the exit status. */
export async function runAdmin(argv: readonly string[], env: Record<string, string | undefined>, io: Output, openSharedState: OpenState): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseAdminArgs(argv);
  } catch (e) {
    if (!(e instanceof AdminUsageError)) throw e;
    io.err(`koogate: ${e.message}\n\nRun "koogate --help" for the usage.\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(`koogate: the admin commands read koogate's own settings.\n${e.message}\n`);
    return 2;
  }
  if (!config.redis) {
    io.err('koogate: no shared store is configured: set REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES) as koogate\'s replicas have it; a memory store lives only inside its koogate process\n');
    return 2;
  }
  // Warnings and the audit line go to stderr, so stdout stays the answer.
  const log = createLogger('warn', (l) => io.err(l));
  const audit = new AuditLog(createLogger('info', (l) => io.err(l)));
  const actor = `cli:${safeUser()}`;
  let state;
  try {
    // A command answers its operator promptly: it waits for an unreachable store a few seconds at most,
    // not the minute a starting replica may wait (KOOGATE_STORE_WAIT_SECONDS only shortens it).
    state = await openSharedState({ ...config, storeWaitSeconds: Math.min(config.storeWaitSeconds, ADMIN_STORE_WAIT_SECONDS) }, log);
  } catch (e) {
    io.err(`koogate: the store cannot be reached: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    return await execute(adminOperations(state, config.appId), parsed, io, (action, count, target) => audit.record({ actor, action, count, target }));
  } catch (e) {
    io.err(`koogate: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await state.close();
  }
}

async function execute(ops: AdminOperations, { command: c, json }: Parsed, io: Output, audit: (action: string, count: number, target?: Record<string, unknown>) => void): Promise<number> {
  const print = (value: unknown, text: () => string) => io.out(json ? `${JSON.stringify(value, null, 2)}\n` : text());
  switch (c.kind) {
    case 'sessions.list': {
      const items = (await ops.listSessions(c)).map(sessionView);
      audit('sessions.list', items.length, { tenantId: c.tenantId, userName: c.userName });
      print({ items, total: items.length }, () =>
        table(['REF', 'USER', 'LOGGED IN', 'LAST SEEN', 'EXPIRES'], items.map((s) => [s.ref, s.userName, s.createdAt, s.lastSeenAt, s.expiresAt])) + `${count(items.length, 'session')} of ${who(c)}\n`,
      );
      return 0;
    }
    case 'sessions.end': {
      const ended = await ops.endSessions(c);
      audit('sessions.end', ended, { tenantId: c.tenantId, userName: c.userName });
      print({ ended }, () => `ended ${count(ended, 'session')} of ${who(c)}, on every replica\n`);
      return 0;
    }
    case 'dead-letters.list': {
      const items = (await ops.listDeadLetters()).map(deadLetterView);
      audit('webhook.dead-letters.list', items.length);
      print({ items, total: items.length }, () =>
        table(['ID', 'EVENT', 'TENANT', 'ATTEMPTS', 'GIVEN UP', 'LAST ERROR'], items.map((d) => [d.id, d.event, d.tenantId ?? '', String(d.attempts), d.deadAt, d.lastError ?? ''])) +
        `${count(items.length, 'dead letter')}\n`,
      );
      return 0;
    }
    case 'dead-letters.redeliver': {
      const out = await ops.redeliver(c.ids);
      audit('webhook.dead-letters.redeliver', out.requeued.length, { asked: c.ids === 'all' ? 'all' : c.ids.length, missing: out.missing.length });
      print(out, () => `requeued ${count(out.requeued.length, 'event')}${out.requeued.length ? `: ${out.requeued.join(', ')}` : ''}\n` + (out.missing.length ? `not dead letters (unknown, or requeued already): ${out.missing.join(', ')}\n` : ''));
      return out.missing.length > 0 ? 1 : 0;
    }
    case 'keys.reseal': {
      const report = await ops.reseal();
      // "grants", not "tokens": the log redacts fields named like secrets.
      audit('keys.reseal', report.credentials.resealed + report.tokens.resealed, { credentials: report.credentials, grants: report.tokens });
      const line = (label: string, n: ResealCounts) => `${label}: ${n.resealed} re-sealed, ${n.current} already under the first key, ${n.failed} unreadable\n`;
      const failed = report.credentials.failed + report.tokens.failed;
      print(report, () =>
        line('client secrets', report.credentials) + line('session tokens', report.tokens) +
        (failed === 0 ? 'every stored secret is now under the first key: older keys can be removed from KOOGATE_ENCRYPTION_KEYS\n' : 'some values open with none of the configured keys: keep the keys until applicationSync sends those secrets again and those sessions end\n'),
      );
      return failed > 0 ? 1 : 0;
    }
  }
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const who = (c: { tenantId: string; userName?: string }) => (c.userName === undefined ? `tenant ${c.tenantId}` : `user ${c.userName} of tenant ${c.tenantId}`);

function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
