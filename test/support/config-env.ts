import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config/config';

/** Environment variables as loadConfig reads them. */
export type Env = Record<string, string | undefined>;

let rsaPem: string | undefined;
/** A merchant RSA private key (PKCS#8 PEM), generated once per test file, on first use. */
export function rsaPrivateKeyPem(): string {
  return (rsaPem ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}

/**
 * The smallest environment koogate accepts outside production, `over` on top (undefined removes a
 * setting). test/unit/production-config.test.ts adds production's rules.
 */
export function validEnv(over: Env = {}): Env {
  return {
    KOOGATE_PUBLIC_URL: 'https://app.example.com',
    KOOGATE_UPSTREAM_URL: 'http://127.0.0.1:3000',
    KOOGATE_APP_ID: 'app-0001',
    KOOGATE_KIT_ACCESS_KEY: 'AK_0123456789abcdef',
    KOOGATE_RSA_PRIVATE_KEY: rsaPrivateKeyPem(),
    KOOGATE_SESSION_SECRET: 's'.repeat(40),
    ...over,
  };
}

/** The problems a ConfigError names, each also in its message (an operator sees them all at once); a failure when loadConfig accepts `env`. */
export function configProblems(env: Env): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    for (const p of err.problems) expect(err.message).toContain(p);
    return err.problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))}`);
}
