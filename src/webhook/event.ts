import { randomUUID } from 'node:crypto';
import type { KitCallApplied } from '../kit/router';

/** What the app receives for one applied kit call (the JSON body of every delivery of it). */
export interface WebhookEvent {
  /** Unique per event and the same on every retry of it (X-Koogate-Delivery): the app's idempotency key. */
  id: string;
  /** The kit interface: tenantSync, applicationSync, authSync, singleOrgSync or allOrgSync. */
  interface: string;
  generation: 'v1' | 'v2';
  /** When koogate received the call (ISO 8601). */
  receivedAt: string;
  data: Record<string, unknown>;
}

/** Top-level fields never sent, whatever the interface: secrets stay in koogate. */
const SECRET_FIELD = /secret/i;

/**
 * The call's validated body without its secrets. applicationSync's clientSecret (still RSA-encrypted as
 * received; koogate keeps the decrypted one sealed) is replaced by `clientSecretStored`, which says whether
 * koogate now holds a secret for the tenant.
 */
export function eventData(iface: string, body: unknown): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body !== null && typeof body === 'object' ? body : {})) {
    if (!SECRET_FIELD.test(k)) data[k] = v;
  }
  if (iface === 'applicationSync') data.clientSecretStored = data.flag !== 0;
  return data;
}

export function webhookEvent(call: KitCallApplied, id: string = randomUUID()): WebhookEvent {
  return {
    id,
    interface: call.iface,
    generation: call.generation,
    receivedAt: new Date(call.receivedAt).toISOString(),
    data: eventData(call.iface, call.body),
  };
}
