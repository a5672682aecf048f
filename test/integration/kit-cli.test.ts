import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../src/sandbox/stack';
import { freePort } from '../support/redis';
import { DEMO_APP_ID, syncedStack } from '../support/stack';

/**
 * `koogate kit send` as an operator runs it: the built CLI as a child process against a running koogate.
 */
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const EXAMPLES = join(ROOT, 'examples', 'kit');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((ok) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      ok({ code, stdout, stderr });
    });
  });
}

describe('koogate kit send', () => {
  let stack: Stack;
  let dir: string;
  let publicKeyFile: string;
  const file = (name: string, body: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
    return p;
  };
  /** An example file with this stack's app id (the examples say "your-app-id"). */
  const example = (name: string) => file(name, readFileSync(join(EXAMPLES, name), 'utf8').replaceAll('your-app-id', DEMO_APP_ID));
  const target = () => ['--url', stack.koogate.url, '--access-key', stack.secrets.accessKey];

  beforeAll(async () => {
    stack = await syncedStack();
    dir = mkdtempSync(join(tmpdir(), 'koogate-cli-'));
    publicKeyFile = file('merchant-public.pem', stack.secrets.publicKeyPem);
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every example file is accepted: exit 0, the answer printed, the directory filled', async () => {
    for (const name of ['tenantSync', 'applicationSync', 'authSync', 'singleOrgSync', 'allOrgSync']) {
      const extra = name === 'applicationSync' ? ['--public-key', publicKeyFile] : [];
      const run = await cli(['kit', 'send', name, ...target(), '--data', example(`${name}.json`), ...extra]);
      expect({ name, code: run.code, stderr: run.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(run.stdout).toContain(`POST /produceAPI/v2/${name} → HTTP 200`);
      expect(run.stdout).toContain('"resultCode": "000000"');
    }
    const d = stack.koogate.directory;
    expect(await d.getTenant('example-tenant-0001')).toMatchObject({ name: 'Example 科技有限公司' });
    // The plain example secret went encrypted and arrived decrypted.
    expect(await d.getAppCredential('example-tenant-0001', DEMO_APP_ID)).toEqual({ clientId: 'example-client-id', clientSecret: 'EXAMPLE-plain-secret-encrypted-by-koogate-kit-send-with-public-key' });
    expect(await d.getUserAccess('example-tenant-0001', 'zhangsan')).toEqual({ allowed: true, role: 'admin' });
    expect((await d.listDepartments('example-tenant-0001')).map((o) => o.orgCode)).toEqual(['example-hq', 'example-rd', 'example-rd-platform', 'example-sales']);
  });

  test('V1: the answer’s Body-Sign is verified and said so', async () => {
    const run = await cli(['kit', 'send', 'authSync', ...target(), '--generation', 'v1', '--data', example('authSync.json')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('POST /produceAPI/authSync → HTTP 200');
    expect(run.stdout).toContain('Body-Sign: verified');
  });

  test('the access key may come from KOOGATE_KIT_ACCESS_KEY', async () => {
    const run = await cli(['kit', 'send', 'tenantSync', '--url', stack.koogate.url, '--data', example('tenantSync.json')], { KOOGATE_KIT_ACCESS_KEY: stack.secrets.accessKey });
    expect(run.code).toBe(0);
  });

  test('a wrong access key: exit 1, the result code printed (V2 000001; V1 too, and its Body-Sign does not verify)', async () => {
    const v2 = await cli(['kit', 'send', 'tenantSync', '--url', stack.koogate.url, '--access-key', 'AK_wrong', '--data', example('tenantSync.json')]);
    expect(v2.code).toBe(1);
    expect(v2.stdout).toContain('"resultCode": "000001"');
    const v1 = await cli(['kit', 'send', 'tenantSync', '--url', stack.koogate.url, '--access-key', 'AK_wrong', '--generation', 'v1', '--data', example('tenantSync.json')]);
    expect(v1.code).toBe(1);
    expect(v1.stdout).toContain('"resultCode": "000001"');
    expect(v1.stdout).toContain('Body-Sign: DOES NOT verify with this access key');
  });

  test('a refused body: exit 1 with the reason', async () => {
    const bad = file('bad-auth.json', { tenantId: 't-acme', appId: DEMO_APP_ID, flag: 1, userList: [{ userName: 'x', role: 'user', enable: true }] });
    const run = await cli(['kit', 'send', 'authSync', ...target(), '--data', bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('"resultCode": "000002"');
    expect(run.stdout).toContain('enable');
  });

  test('a stale timeStamp is kept only when asked (--keep-timestamp), and V1 then refuses it', async () => {
    const run = await cli(['kit', 'send', 'tenantSync', ...target(), '--generation', 'v1', '--keep-timestamp', '--data', example('tenantSync.json')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('"resultCode": "000002"');
    expect(run.stdout).toContain('window');
  });

  test('nothing listening at --url: exit 1 with the reason', async () => {
    const closed = await freePort();
    const run = await cli(['kit', 'send', 'tenantSync', '--url', `http://127.0.0.1:${closed}`, '--access-key', 'k', '--data', example('tenantSync.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`could not be sent to http://127.0.0.1:${closed}: ECONNREFUSED`);
  });

  test.each([
    [['kit', 'send'], /which interface/],
    [['kit', 'send', 'fooSync', '--url', 'http://x', '--access-key', 'k', '--data', 'f'], /unknown interface "fooSync"/],
    [['kit', 'send', 'tenantSync', '--access-key', 'k', '--data', 'f'], /--url is required/],
    [['kit', 'send', 'tenantSync', '--url', 'ftp://x', '--access-key', 'k', '--data', 'f'], /--url must be an http\(s\) URL/],
    [['kit', 'send', 'tenantSync', '--url', 'http://x', '--data', 'f'], /--access-key is required/],
    [['kit', 'send', 'tenantSync', '--url', 'http://x', '--access-key', 'k'], /--data is required/],
    [['kit', 'send', 'tenantSync', '--url', 'http://x', '--access-key', 'k', '--data', '/no/such/file.json'], /cannot read --data file \/no\/such\/file\.json \(ENOENT\)/],
    [['kit', 'send', 'tenantSync', '--url', 'http://x', '--access-key', 'k', '--data', 'f', '--generation', 'v3'], /--generation must be v1 or v2/],
    [['kit', 'send', 'tenantSync', '--url', 'http://x', '--access-key', 'k', '--data', 'f', '--oaep', 'md5'], /--oaep must be one of/],
    [['kit', 'send', 'tenantSync', '--url', 'http://x', '--access-key', 'k', '--data', 'f', '--bogus'], /unknown option --bogus/],
    [['kit', 'send', 'tenantSync', '--url'], /--url needs a value/],
    [['deploy'], /unknown command "deploy"/],
  ] as [string[], RegExp][])('usage error %j: exit 2 with a clear message', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('koogate --help');
  });

  test('a --data file that is not JSON, or not an object; a --public-key that is not a key', async () => {
    const notJson = file('not.json', '{"tenantId":');
    const arr = file('arr.json', '[1,2]');
    const notKey = file('not-a-key.pem', 'hello');
    const base = ['kit', 'send', 'applicationSync', '--url', 'http://127.0.0.1:9', '--access-key', 'k'];
    expect((await cli([...base, '--data', notJson])).stderr).toMatch(/is not valid JSON/);
    expect((await cli([...base, '--data', arr])).stderr).toMatch(/must hold a JSON object/);
    const key = await cli([...base, '--data', example('applicationSync.json'), '--public-key', notKey]);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/is not a PEM public key/);
  });

  test('--help prints the usage and exits 0; no arguments prints it and exits 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('koogate kit send <interface>');
    expect(help.stdout).toContain('tenantSync, applicationSync, authSync, singleOrgSync, allOrgSync');
    expect((await cli([])).code).toBe(2);
  });

  describe('basic activities', () => {
    const BASIC = join(ROOT, 'examples', 'basic');
    const produce = () => `${stack.koogate.url}/_koogate/produce`;
    const order = ['newInstance', 'queryInstance', 'refreshInstance', 'updateInstanceStatus', 'upgradeInstance', 'changeInstanceCheck', 'releaseInstance'];

    test('every example is accepted, signed with the basic key from KOOGATE_BASIC_ACCESS_KEY or --access-key', async () => {
      for (const [i, name] of order.entries()) {
        const key: { env: Record<string, string>; args: string[] } =
          i % 2 === 0 ? { env: { KOOGATE_BASIC_ACCESS_KEY: stack.secrets.basicAccessKey }, args: [] } : { env: {}, args: ['--access-key', stack.secrets.basicAccessKey] };
        const run = await cli(['kit', 'send', name, '--url', produce(), ...key.args, '--data', join(BASIC, `${name}.json`)], key.env);
        expect({ name, code: run.code, stderr: run.stderr }).toEqual({ name, code: 0, stderr: '' });
        expect(run.stdout).toContain(`POST /_koogate/produce?signature=…&timestamp=…&nonce=… (${name}) → HTTP 200`);
        expect(run.stdout).toContain('"resultCode": "000000"');
      }
      expect(await stack.koogate.directory.instances.get('0b5c8c1e4d7f4f509b0e2f1f6f0c1a33')).toMatchObject({ status: 'released' });
    });

    test('a kit sync at the production address is posted under its path, and the CLI prints that path', async () => {
      const run = await cli(['kit', 'send', 'tenantSync', '--url', produce(), '--access-key', stack.secrets.accessKey, '--data', example('tenantSync.json')]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('POST /_koogate/produce/produceAPI/v2/tenantSync → HTTP 200');
    });

    test('the kit key is the wrong key for an activity: 000001, exit 1; KOOGATE_KIT_ACCESS_KEY is not read for one', async () => {
      const run = await cli(['kit', 'send', 'queryInstance', '--url', produce(), '--access-key', stack.secrets.accessKey, '--data', join(BASIC, 'queryInstance.json')]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('"resultCode": "000001"');
      const noKey = await cli(['kit', 'send', 'queryInstance', '--url', produce(), '--data', join(BASIC, 'queryInstance.json')], { KOOGATE_KIT_ACCESS_KEY: stack.secrets.accessKey });
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toContain('KOOGATE_BASIC_ACCESS_KEY');
    });

    test('usage errors: v1 and --public-key are for kit syncs; an unknown activity names both kinds', async () => {
      const data = ['--data', join(BASIC, 'queryInstance.json'), '--access-key', 'k'];
      const v1 = await cli(['kit', 'send', 'queryInstance', '--url', produce(), ...data, '--generation', 'v1']);
      expect(v1.code).toBe(2);
      const unknown = await cli(['kit', 'send', 'deleteEverything', '--url', produce(), ...data]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('newInstance');
      expect(unknown.stderr).toContain('tenantSync');
    });

    test('a --url without the production path: the answer is no basic answer, and the CLI says so', async () => {
      const run = await cli(['kit', 'send', 'queryInstance', '--url', stack.koogate.url, '--access-key', stack.secrets.basicAccessKey, '--data', join(BASIC, 'queryInstance.json')]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('production address');
    });
  });
});
