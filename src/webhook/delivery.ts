/** Events on their way to the app, in the shared store (Redis: koogate:webhook:queue:due, …:items, …:claims). */
export const WEBHOOK_QUEUE = 'webhook:queue';
/** Events given up on, newest kept (Redis: koogate:webhook:dead:due, …:items). */
export const WEBHOOK_DEAD_LETTERS = 'webhook:dead';
/** Dead letters are for an operator to see what the app missed; the directory API has the current state. */
export const DEAD_LETTERS_KEPT = 1000;

/** One event as the queue holds it between attempts. */
export interface Delivery {
  /** The event's JSON, posted byte for byte on every attempt. */
  body: string;
  /** Its interface: X-Koogate-Event. */
  event: string;
  /** For the log. */
  tenantId?: string;
  /** Failed attempts so far. */
  attempts: number;
  /** When it was queued, ms since the epoch. */
  queuedAt: number;
  /** Why the last attempt failed. */
  lastError?: string;
}

export function encodeDelivery(d: Delivery): string {
  return JSON.stringify(d);
}

/** null for anything that is not a delivery (the queue's contents are not trusted blindly). */
export function decodeDelivery(raw: string): Delivery | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  const d = v as Partial<Delivery> | null;
  if (!d || typeof d.body !== 'string' || typeof d.event !== 'string' || typeof d.attempts !== 'number' || typeof d.queuedAt !== 'number') return null;
  return d as Delivery;
}
