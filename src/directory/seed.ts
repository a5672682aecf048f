import type { Directory } from './directory';

/**
 * A static seed for development and tests (KOOGATE_SEED_FILE); production data arrives by kit sync.
 * Shape: { "tenants": [{ "tenantId", "tenantCode", "name", "domainName", "clientId", "clientSecret" }] }
 * with the client secret in plain text — keep such files out of production.
 */
export interface SeedFile {
  tenants: { tenantId: string; tenantCode?: string; name?: string; domainName: string; clientId: string; clientSecret: string }[];
}

export async function loadSeed(dir: Directory, seed: unknown, appId: string): Promise<number> {
  const s = seed as SeedFile;
  if (!s || !Array.isArray(s.tenants)) throw new Error('seed file must hold {"tenants": [...]}');
  for (const t of s.tenants) {
    if (!t.tenantId || !t.domainName || !t.clientId || !t.clientSecret) throw new Error('each seed tenant needs tenantId, domainName, clientId and clientSecret');
    await dir.applyTenant({ instanceId: 'seed', tenantId: t.tenantId, tenantCode: t.tenantCode ?? '', name: t.name ?? '', domainName: t.domainName, flag: 1, testFlag: 1 });
    await dir.applyAppCredential({ instanceId: 'seed', tenantId: t.tenantId, appId, clientId: t.clientId, clientSecret: t.clientSecret, flag: 1, testFlag: 1 });
  }
  return s.tenants.length;
}
