#!/usr/bin/env node
/**
 * `koogate kit send`: sends one kit-sync call or one basic-interface call the way KooGallery does (signed;
 * applicationSync's secret RSA-OAEP encrypted), so an ISV can check a deployment before the marketplace's
 * own debug run. The stand-in marketplace sends with the same code (kit/client.ts, basic/client.ts).
 * The operator's commands (sessions, dead letters, re-sealing) are in admin/cli.ts.
 */
import { readFileSync } from 'node:fs';
import { ADMIN_GROUPS, ADMIN_USAGE, runAdmin } from './admin/cli';
import { OAEP_VARIANTS, loadPublicKey, type OaepVariant } from './crypto/rsa-oaep';
import { ACTIVITIES, sendBasicCall, type Activity } from './basic/client';
import { VERSION } from './core/version';
import { KIT_INTERFACES, kitTimeStamp, sendKitCall, type KitInterface, type KitResponse } from './kit/client';

export const USAGE = `Usage:
  koogate kit send <interface> --url <production address> --access-key <key> --data <file.json>
                   [--public-key <pem file>] [--generation v2|v1] [--oaep sha256-mgf1sha1|sha1|sha256]
                   [--keep-timestamp] [--timeout <ms>]

Sends one kit-sync call, or one basic-interface call, to koogate (or any merchant endpoint) as
KooGallery does, and prints the answer.

  <interface>       a kit sync: ${KIT_INTERFACES.join(', ')}
                    or a basic activity: ${ACTIVITIES.join(', ')}
  --url             the production address, e.g. https://app.example.com/_koogate/produce. Kit syncs
                    go to <url>/produceAPI/v2/<interface> (v1: <url>/produceAPI/<interface>); basic
                    activities to <url>?signature=…&timestamp=…&nonce=…, with "activity" in the body
  --access-key      the key of the interface's type: the kit access key for a kit sync, the basic
                    access key for an activity; or set KOOGATE_KIT_ACCESS_KEY or
                    KOOGATE_BASIC_ACCESS_KEY instead (keeps it out of ps)
  --data            a JSON file holding the body, e.g. examples/kit/tenantSync.json or
                    examples/basic/newInstance.json
  --public-key      the merchant public key (PEM); with it, applicationSync's plain clientSecret is
                    RSA-OAEP encrypted before sending. Without it the clientSecret is sent as given.
  --generation      v2 (default: x-sign, x-timestamp, x-nonce) or v1 (authToken; the answer's
                    Body-Sign is verified); kit syncs only
  --oaep            OAEP variant for the secret (default sha256-mgf1sha1, Java's
                    OAEPWithSHA-256AndMGF1Padding)
  --keep-timestamp  send the file's timeStamp as is; by default it is set to now (UTC+8), as a
                    fresh call carries it (V1 refuses stale ones)
  --timeout         milliseconds to wait for the answer (default 10000)

Exit status: 0 when the answer's resultCode is 000000 (and, for v1, its Body-Sign verified);
1 when the call was answered with another code or could not be sent; 2 on a usage error.

koogate --version prints the version (the one /_koogate/healthz answers).

Operator commands:
${ADMIN_USAGE}
`;

interface Options {
  iface: KitInterface | Activity;
  url: string;
  accessKey: string;
  dataFile: string;
  publicKeyFile?: string;
  generation: 'v1' | 'v2';
  oaep: OaepVariant;
  keepTimestamp: boolean;
  timeoutMs: number;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const FLAGS_WITH_VALUE = new Set(['--url', '--access-key', '--data', '--public-key', '--generation', '--oaep', '--timeout']);

/** Parses `kit send <interface> …`; throws UsageError with a message a person can act on. */
export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): Options {
  const positional: string[] = [];
  const values = new Map<string, string>();
  let keepTimestamp = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--keep-timestamp') {
      keepTimestamp = true;
    } else if (FLAGS_WITH_VALUE.has(name)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      if (values.has(name)) throw new UsageError(`${name} is given twice`);
      values.set(name, value);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  const [group, command, iface, ...extra] = positional;
  if (group !== 'kit' || command !== 'send') throw new UsageError(group === undefined ? 'no command given' : `unknown command "${positional.slice(0, 2).join(' ')}"`);
  const known = [...KIT_INTERFACES, ...ACTIVITIES].join(', ');
  if (!iface) throw new UsageError(`which interface? one of ${known}`);
  if (!(KIT_INTERFACES as readonly string[]).includes(iface) && !isBasic(iface)) throw new UsageError(`unknown interface "${iface}"; one of ${known}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);

  const url = values.get('--url');
  if (!url) throw new UsageError('--url is required: the production address, e.g. https://app.example.com');
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new UsageError(`--url must be an http(s) URL (got "${url}")`);
  }
  // One key per interface type: an activity is signed with the basic key, a kit sync with the kit key.
  const keyVariable = isBasic(iface) ? 'KOOGATE_BASIC_ACCESS_KEY' : 'KOOGATE_KIT_ACCESS_KEY';
  const accessKey = values.get('--access-key') ?? env[keyVariable];
  if (!accessKey) throw new UsageError(`--access-key is required (or set ${keyVariable})`);
  const dataFile = values.get('--data');
  if (!dataFile) throw new UsageError('--data is required: a JSON file holding the body');
  const generation = values.get('--generation') ?? 'v2';
  if (generation !== 'v1' && generation !== 'v2') throw new UsageError(`--generation must be v1 or v2 (got "${generation}")`);
  if (generation === 'v1' && isBasic(iface)) throw new UsageError(`--generation v1 is for kit syncs; koogate serves the V2 basic interfaces`);
  if (values.has('--public-key') && isBasic(iface)) throw new UsageError('--public-key is for applicationSync only');
  const oaep = values.get('--oaep') ?? 'sha256-mgf1sha1';
  if (!(OAEP_VARIANTS as readonly string[]).includes(oaep)) throw new UsageError(`--oaep must be one of ${OAEP_VARIANTS.join(', ')} (got "${oaep}")`);
  const timeoutRaw = values.get('--timeout') ?? '10000';
  const timeoutMs = Number(timeoutRaw);
  if (!/^\d+$/.test(timeoutRaw) || timeoutMs < 1 || timeoutMs > 600_000) throw new UsageError(`--timeout must be milliseconds from 1 to 600000 (got "${timeoutRaw}")`);
  return {
    iface: iface as KitInterface | Activity,
    url,
    accessKey,
    dataFile,
    publicKeyFile: values.get('--public-key'),
    generation,
    oaep: oaep as OaepVariant,
    keepTimestamp,
    timeoutMs,
  };
}

const isBasic = (name: string): name is Activity => (ACTIVITIES as readonly string[]).includes(name);

function readBody(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --data file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--data file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError(`--data file ${file} must hold a JSON object`);
  return body as Record<string, unknown>;
}

function readPublicKey(file: string) {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --public-key file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return loadPublicKey(pem);
  } catch (e) {
    throw new UsageError(`--public-key file ${file} is not a PEM public key: ${(e as Error).message}`);
  }
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Runs the CLI; resolves the exit status. */
export async function run(argv: readonly string[], env: Record<string, string | undefined>, io: Output): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    io.out(`${VERSION}\n`);
    return 0;
  }
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    io.out(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  if ((ADMIN_GROUPS as readonly string[]).includes(argv[0]!)) {
    // Loaded only for these: `kit send` needs none of the server's modules.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openSharedState } = require('./compose/server') as typeof import('./compose/server');
    return runAdmin(argv, env, io, openSharedState);
  }
  let opts: Options;
  let body: Record<string, unknown>;
  let publicKey;
  try {
    opts = parseArgs(argv, env);
    body = readBody(opts.dataFile);
    publicKey = opts.publicKeyFile ? readPublicKey(opts.publicKeyFile) : undefined;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`koogate: ${e.message}\n\nRun "koogate --help" for the usage.\n`);
    return 2;
  }
  if (isBasic(opts.iface)) return sendBasic(opts, opts.iface, body, io);
  if (!opts.keepTimestamp) body = { ...body, timeStamp: kitTimeStamp(Date.now()) };
  if (opts.iface === 'applicationSync' && !publicKey && typeof body.clientSecret === 'string' && body.clientSecret !== '') {
    io.err('note: no --public-key, so clientSecret is sent as given (it must already be the Base64 RSA-OAEP ciphertext)\n');
  }

  const iface = opts.iface;
  let res: KitResponse;
  try {
    res = await sendKitCall({
      baseUrl: opts.url,
      iface,
      accessKey: opts.accessKey,
      body,
      generation: opts.generation,
      publicKey,
      oaepVariant: opts.oaep,
      timeoutMs: opts.timeoutMs,
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    io.err(`koogate: the call could not be sent to ${opts.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}\n`);
    return 1;
  }
  const answer = res.body as { resultCode?: unknown; resultMsg?: unknown } | undefined;
  const base = new URL(opts.url).pathname.replace(/\/+$/, '');
  io.out(`POST ${base}${opts.generation === 'v2' ? `/produceAPI/v2/${iface}` : `/produceAPI/${iface}`} → HTTP ${res.status}\n`);
  io.out(`${answer === undefined ? res.text.slice(0, 2000) : JSON.stringify(answer, null, 2)}\n`);
  if (opts.generation === 'v1') {
    const verdict = { valid: 'verified', invalid: 'DOES NOT verify with this access key', missing: 'MISSING' }[res.bodySign ?? 'missing'];
    io.out(`Body-Sign: ${verdict}\n`);
  }
  const resultCode = typeof answer?.resultCode === 'string' ? answer.resultCode : undefined;
  if (resultCode === undefined) io.err('koogate: the answer carries no resultCode: is --url the production address of a kit endpoint?\n');
  const ok = res.status === 200 && resultCode === '000000' && (opts.generation === 'v2' || res.bodySign === 'valid');
  return ok ? 0 : 1;
}

/** A basic activity: signed with the basic key in the query, the activity in the body; no timeStamp field. */
async function sendBasic(opts: Options, activity: Activity, body: Record<string, unknown>, io: Output): Promise<number> {
  let res: KitResponse;
  try {
    res = await sendBasicCall({ url: opts.url, accessKey: opts.accessKey, activity, body, timeoutMs: opts.timeoutMs });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    io.err(`koogate: the call could not be sent to ${opts.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}\n`);
    return 1;
  }
  const answer = res.body as { resultCode?: unknown } | undefined;
  io.out(`POST ${new URL(opts.url).pathname}?signature=…&timestamp=…&nonce=… (${activity}) → HTTP ${res.status}\n`);
  io.out(`${answer === undefined ? res.text.slice(0, 2000) : JSON.stringify(answer, null, 2)}\n`);
  const resultCode = typeof answer?.resultCode === 'string' ? answer.resultCode : undefined;
  if (resultCode === undefined) io.err('koogate: the answer carries no resultCode: is --url the production address (with its path, e.g. /_koogate/produce)?\n');
  if (!/^application\/json\b/i.test(res.headers['content-type'] ?? '')) io.err('koogate: the answer is not application/json: the marketplace would count it as unanswered\n');
  return res.status === 200 && resultCode === '000000' ? 0 : 1;
}

if (require.main === module) {
  run(process.argv.slice(2), process.env, { out: (l) => process.stdout.write(l), err: (l) => process.stderr.write(l) }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`koogate: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
