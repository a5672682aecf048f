import type { KeyValueStore } from '../store/store';
import { DEAD_LETTERS_KEPT, decodeDelivery, encodeDelivery, WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE } from './delivery';

/** A webhook event given up on, as an operator sees it: never its body, which holds directory data. */
export interface DeadLetter {
  id: string;
  event: string;
  tenantId?: string;
  attempts: number;
  queuedAt: number;
  /** When it was given up (the store's clock). */
  deadAt: number;
  lastError?: string;
}

export interface Redelivery {
  /** Ids put back in the queue, due at once. */
  requeued: string[];
  /** Ids asked for that are not (or no longer) dead letters. */
  missing: string[];
}

/**
 * The webhook's dead letters: listed, and put back in the delivery queue on an operator's word. A
 * redelivered event keeps its id (the app's de-duplication key) and starts afresh: attempts and age are
 * counted from the redelivery, so it gets the whole retry schedule again.
 */
export class DeadLetters {
  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<DeadLetter[]> {
    const entries = await this.store.queuePeek(WEBHOOK_DEAD_LETTERS, DEAD_LETTERS_KEPT);
    return entries.flatMap((e) => {
      const d = decodeDelivery(e.payload);
      if (!d) return [];
      return [{ id: e.id, event: d.event, tenantId: d.tenantId, attempts: d.attempts, queuedAt: d.queuedAt, deadAt: e.dueAt, lastError: d.lastError }];
    });
  }

  /** Requeues the named dead letters, or all of them when `ids` is 'all'. */
  async redeliver(ids: readonly string[] | 'all'): Promise<Redelivery> {
    const entries = await this.store.queuePeek(WEBHOOK_DEAD_LETTERS, DEAD_LETTERS_KEPT);
    const byId = new Map(entries.map((e) => [e.id, e.payload]));
    const wanted = ids === 'all' ? [...byId.keys()] : [...new Set(ids)];
    const out: Redelivery = { requeued: [], missing: [] };
    for (const id of wanted) {
      const d = decodeDelivery(byId.get(id) ?? '');
      const payload = d && encodeDelivery({ body: d.body, event: d.event, tenantId: d.tenantId, attempts: 0, queuedAt: this.now() });
      // The move is one atomic step: of two operators redelivering at once, one requeues the event.
      if (payload && (await this.store.queueMove(WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE, id, payload, 0))) out.requeued.push(id);
      else out.missing.push(id);
    }
    return out;
  }
}
