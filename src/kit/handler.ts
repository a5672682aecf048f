import type { z } from 'zod';
import type { AccessChange } from '../core/access';

/** What applying one kit call did: an outcome for the log, and whose access it changed. */
export interface KitApplied {
  outcome: unknown;
  changes: AccessChange[];
}

/** One kit interface: its body schema, how to apply a valid body, and what of it is worth a log line. */
export interface KitHandler<T = unknown> {
  schema: z.ZodType<T>;
  apply(body: T): Promise<KitApplied>;
  /** Fields worth a log line; never secrets, never personal data. */
  describe(body: T): Record<string, unknown>;
}

/** Erases a handler's body type so handlers of every interface fit one table. */
export const handler = <T>(h: KitHandler<T>): KitHandler => h as unknown as KitHandler;
