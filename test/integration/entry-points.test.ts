import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The built entry points outside the test process: `koogate --version` as an operator runs it, and the
 * demo app on its own as deploy/compose.yaml runs it from the image.
 */
const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist', 'src');
const { version: VERSION } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('koogate --version', () => {
  test("prints package.json's version and exits 0", async () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-v']) {
      const r = await run(join(DIST, 'cli.js'), [flag]);
      expect(r).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    }
  });

  test('reads the version of the package it is installed in, as the image lays it out (package.json beside dist/)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'koogate-version-'));
    try {
      cpSync(join(ROOT, 'dist', 'src', 'core'), join(dir, 'dist', 'src', 'core'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'koogate', version: '7.8.9-rc.1' }));
      const probe = join(dir, 'print-version.js');
      writeFileSync(probe, `process.stdout.write(require(${JSON.stringify(join(dir, 'dist', 'src', 'core', 'version.js'))}).VERSION)`);
      expect((await run(probe, [])).stdout).toBe('7.8.9-rc.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with anything after it, it is a usage error, not a version', async () => {
    const r = await run(join(DIST, 'cli.js'), ['--version', 'now']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});

describe('the demo app on its own (dist/src/sandbox/demo-app-main.js)', () => {
  test('listens on PORT, shows its landing page without identity, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(DIST, 'sandbox', 'demo-app-main.js')], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    try {
      const url = await new Promise<string>((ok, fail) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const msg = JSON.parse(line) as { msg?: string; url?: string };
          if (msg.msg === 'demo app listening' && msg.url) ok(msg.url);
        });
        void exited.then((code) => fail(new Error(`demo app exited with ${code}`)));
      });
      const landing = await fetch(`${url}/`);
      expect(landing.status).toBe(200);
      expect(await landing.text()).toContain('data-logged-in="false"');
      // Identity comes only from koogate's headers: without them the identity page refuses.
      expect((await fetch(`${url}/me`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  test('refuses a PORT that is no port', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((ok) => {
      execFile(process.execPath, [join(DIST, 'sandbox', 'demo-app-main.js')], { env: { PATH: process.env.PATH ?? '', PORT: 'eighty' }, timeout: 20_000 }, (err, _out, stderr) =>
        ok({ code: err && typeof err.code === 'number' ? err.code : 0, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PORT must be a port number (got "eighty")');
  });
});
