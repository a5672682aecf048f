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


/** The optional profile fields of an authSync user (docs/protocol.md §3.5). */
export interface UserProfile {
  position?: string;
  employeeCode?: string;
  employeeType?: number;
  mobile?: string;
  email?: string;
  workPlace?: string;
  entryDate?: string;
}

/** A user as authSync leaves them (docs/protocol.md §3.5); identified by tenant + userName. */
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

/** A department (docs/protocol.md §3.6–3.7); the tree is derived from parentCode, never stored. */
export interface DepartmentRecord {
  tenantId: TenantId;
  orgCode: string;
  orgName: string;
  /** Empty at the top level. */
  parentCode: string;
  updatedAt: string;
}

/** What the basic interfaces leave of an instance's state; only `active` lets its tenants in. */
export type InstanceStatus = 'active' | 'frozen' | 'released';

/** The call that brought an order to an instance. */
export type OrderSource = 'newInstance' | 'upgradeInstance' | 'refreshInstance' | 'releaseInstance';

/**
 * One order (or order line) of an instance, as the basic interfaces named it. The marketplace's own order
 * details (order type, charging mode, expiry, buyer) are not in those calls; a module that fetches them
 * adds them here as optional fields, which every reader of the record must tolerate being absent.
 */
export interface InstanceOrder {
  orderId: string;
  orderLineId: string;
  via: OrderSource;
  /** refreshInstance's scene, for orders it brought. */
  scene?: string;
  /** When koogate recorded the order (ISO 8601). */
  at: string;
}

/**
 * One instance (a bought subscription) as the basic interfaces left it (docs/protocol.md §6). Tenants link to
 * instances by kit sync (tenantSync, applicationSync); a tenant may log in while one of its linked
 * instances is active. Fields may be added; readers ignore what they do not know.
 */
export interface InstanceRecord {
  instanceId: string;
  /** Orders in the order they came; newInstance's first. */
  orders: InstanceOrder[];
  status: InstanceStatus;
  /** When the subscription ends (ISO 8601), as refreshInstance last said; null until one did. */
  expireTime: string | null;
  /** A trial until refreshInstance's TRIAL_TO_FORMAL (or a newInstance that said so). */
  trial: boolean;
  testFlag: number;
  /** The product of the last refreshInstance that named one. */
  productId?: string;
  /**
   * False while koogate knows the instance only from a call about it (a status change, a release) that
   * came before its newInstance, or from an order older than koogate.
   */
  provisioned: boolean;
  createdAt: string;
  updatedAt: string;
}
