import type { UserAccess } from '../core/access';
import type { UserRecord } from './types';

/** What a user record says of access: in only while authorized and enabled. */
export function accessOf(rec: UserRecord): UserAccess {
  return { allowed: rec.authorized && rec.enabled, role: rec.role };
}
