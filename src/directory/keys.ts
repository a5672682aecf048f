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
/** An instance (basic interfaces). */
export const instanceKey = (instanceId: string) => `dir:instance:${enc(instanceId)}`;
/** Set of every instance id koogate holds a record of. */
export const INSTANCES = 'dir:instances';
/** orderId + orderLineId → the instanceId newInstance answered: claimed once, so retries get the same id. */
export const orderKey = (orderId: string, orderLineId: string) => `dir:order:${enc(orderId)}:${enc(orderLineId)}`;
/** Set of the tenants that kit sync linked to an instance, so a change of its state reaches their sessions. */
export const instanceTenantsKey = (instanceId: string) => `dir:instance-tenants:${enc(instanceId)}`;
