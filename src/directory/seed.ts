import type { Directory } from './directory';

/**
 * A static seed for development and tests (KOOGATE_SEED_FILE); production data arrives by kit sync.
 * Shape: { "tenants": [{ "tenantId", "tenantCode", "name", "domainName", "clientId", "clientSecret",
 * "users": [{ "userName", "name", "role" }] }] } with the client secret in plain text — keep such files out
 * of production. The users are authorized as an authSync add would (KOOGATE_ACCESS_POLICY=authorized
 * admits no one else).
 */
export interface SeedFile {
  tenants: {
    tenantId: string;
    tenantCode?: string;
    name?: string;
    domainName: string;
    clientId: string;
    clientSecret: string;
    users?: { userName: string; name?: string; role?: 'admin' | 'user' }[];
  }[];
}

export async function loadSeed(dir: Directory, seed: unknown, appId: string): Promise<number> {
  const s = seed as SeedFile;
  if (!s || !Array.isArray(s.tenants)) throw new Error('seed file must hold {"tenants": [...]}');
  for (const t of s.tenants) {
    if (!t.tenantId || !t.domainName || !t.clientId || !t.clientSecret) throw new Error('each seed tenant needs tenantId, domainName, clientId and clientSecret');
    if (t.users !== undefined && (!Array.isArray(t.users) || t.users.some((u) => !u || typeof u.userName !== 'string' || !u.userName))) {
      throw new Error(`seed tenant ${t.tenantId}: users must be a list of {"userName", "name", "role"}`);
    }
    await dir.applyTenant({ instanceId: 'seed', tenantId: t.tenantId, tenantCode: t.tenantCode ?? '', name: t.name ?? '', domainName: t.domainName, flag: 1, testFlag: 1 });
    await dir.applyAppCredential({ instanceId: 'seed', tenantId: t.tenantId, appId, clientId: t.clientId, clientSecret: t.clientSecret, flag: 1, testFlag: 1 });
    if (t.users?.length) {
      await dir.applyAuthSync({
        instanceId: 'seed',
        tenantId: t.tenantId,
        appId,
        flag: 1,
        testFlag: 1,
        users: t.users.map((u) => ({ userName: u.userName, name: u.name ?? '', role: u.role === 'admin' ? 'admin' : 'user', enabled: true })),
      });
    }
  }
  return s.tenants.length;
}
