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
