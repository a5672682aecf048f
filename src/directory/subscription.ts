import type { SubscriptionAccess } from '../core/access';
import type { InstanceRecord } from './types';

export type { SubscriptionAccess };

/**
 * Whether a tenant's subscriptions let it in (docs/protocol.md §4, §6): with no linked instance (the seller's
 * own test flows carry an empty instanceId) or with at least one that is neither frozen nor released. An
 * instance koogate holds no record of counts as active: koogate has no word against it.
 */
export function subscriptionAccess(linked: readonly string[], records: readonly (InstanceRecord | null)[]): SubscriptionAccess {
  if (linked.length === 0) return { allowed: true };
  if (records.some((r) => r === null || r.status === 'active')) return { allowed: true };
  const all = records as readonly InstanceRecord[];
  return { allowed: false, status: all.every((r) => r.status === 'released') ? 'released' : 'frozen' };
}

/** The instances kit sync linked a tenant to: its tenantSync and applicationSync instanceIds, blanks left out. */
export function linkedInstances(...lists: readonly (readonly string[] | undefined)[]): string[] {
  const ids = new Set<string>();
  for (const list of lists) for (const id of list ?? []) if (id !== '') ids.add(id);
  return [...ids].sort();
}
