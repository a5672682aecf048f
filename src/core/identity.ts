/**
 * Who a user is and what the marketplace gave koogate for them: the identity every layer passes along
 * (sessions, proxy headers, assertion, pages) and the token set the grant store keeps.
 */

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms when the access token expires, from `expires_in`. */
  expiresAt: number;
  /** Epoch ms when the refresh token expires, when the answer says (`refresh_expires_in`). */
  refreshExpiresAt?: number;
  scope?: string;
}

/** What koogate keeps of a user; identity is tenantId + userName. */
export interface MarketplaceUser {
  tenantId: string;
  userName: string;
  id?: string;
  name?: string;
  email?: string;
  mobile?: string;
  role?: string;
  userId?: string;
  organizationName?: string;
  organizationCode?: string;
  projectName?: string;
}
