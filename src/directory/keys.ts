import type { TenantId } from './types';

/*
 * Store keys of the directory. Tenant and app keys predate the others and keep their shape; the user and
 * department keys encode their parts, so that a ':' in a tenant id or user name cannot make two keys meet.
 */
const enc = encodeURIComponent;

export const tenantKey = (t: TenantId) => `dir:tenant:${t}`;
export const TENANTS = 'dir:tenants';
export const appKey = (t: TenantId, appId: string) => `dir:app:${t}:${appId}`;
export const userKey = (t: TenantId, userName: string) => `dir:user:${enc(t)}:${enc(userName)}`;
/** Set of the tenant's user names. */
export const usersKey = (t: TenantId) => `dir:users:${enc(t)}`;
export const departmentKey = (t: TenantId, orgCode: string) => `dir:org:${enc(t)}:${enc(orgCode)}`;
/** Set of the tenant's department codes. */
export const departmentsKey = (t: TenantId) => `dir:orgs:${enc(t)}`;
