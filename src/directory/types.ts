import type { Role } from '../core/access';

export type { Role };

/** What kit sync tells koogate about the marketplace's tenants; the source of every tenant's login settings. */
export type TenantId = string;

export interface TenantRecord {
  tenantId: TenantId;
  tenantCode: string;
  name: string;
  /** The tenant's identity domain, scheme included, no trailing slash: the base of every OAuth call. */
  domainName: string;
  /** Instances (orders) that hold this tenant; the tenant goes when the last one is deleted. */
  instances: string[];
  testFlag: number;
  updatedAt: string;
}

export interface AppCredentialRecord {
  tenantId: TenantId;
  appId: string;
  clientId: string;
  /** Sealed at rest (crypto/sealed.ts); opened only to call the token endpoint. */
  clientSecretSealed: string;
  instances: string[];
  testFlag: number;
  updatedAt: string;
}

export interface AppCredential {
  clientId: string;
  clientSecret: string;
}


/** The optional profile fields of an authSync user (PROTOCOL.md §3.5). */
export interface UserProfile {
  position?: string;
  employeeCode?: string;
  employeeType?: number;
  mobile?: string;
  email?: string;
  workPlace?: string;
  entryDate?: string;
}

/** A user as authSync leaves them (PROTOCOL.md §3.5); identified by tenant + userName. */
export interface UserRecord extends UserProfile {
  tenantId: TenantId;
  userName: string;
  name: string;
  orgCode: string;
  role: Role;
  /** authSync's `enable` ("true"/"false"): a disabled user keeps their record but may not log in. */
  enabled: boolean;
  /** False once authSync cancelled the authorization (flag 3); an add (flag 1) gives it back. */
  authorized: boolean;
  appId: string;
  /** The instance (order) of the last authSync that changed this user. */
  instanceId: string;
  testFlag: number;
  updatedAt: string;
}

/** A department (PROTOCOL.md §3.6–3.7); the tree is derived from parentCode, never stored. */
export interface DepartmentRecord {
  tenantId: TenantId;
  orgCode: string;
  orgName: string;
  /** Empty at the top level. */
  parentCode: string;
  updatedAt: string;
}
