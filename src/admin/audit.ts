import type { Request } from 'express';
import type { LogFields, Logger } from '../observability/logger';

/** One admin action as the audit log keeps it: who did what, to how many things. */
export interface AuditEntry {
  /** Who: `cli:<os user>`, or `http:<client address>` (with the operator name the caller gave, if any). */
  actor: string;
  /** What, as a stable name: `sessions.end`, `webhook.redeliver`, `keys.reseal`, … */
  action: string;
  /** How many things the action touched (sessions ended, events requeued, values re-sealed). */
  count: number;
  /** What it was aimed at (tenant, user, ids); never a secret. */
  target?: LogFields;
}

/**
 * The audit trail of admin actions: one JSON log line each (`"msg":"admin action","audit":true`), so an
 * operator's log pipeline can keep them apart from the rest.
 */
export class AuditLog {
  constructor(private readonly log: Logger) {}

  record(e: AuditEntry): void {
    this.log.info('admin action', { audit: true, actor: e.actor, action: e.action, count: e.count, ...e.target });
  }
}

/** Operator names callers may give in X-Koogate-Operator: short, visible ASCII, nothing to inject. */
const OPERATOR = /^[A-Za-z0-9._@+-]{1,64}$/;

/**
 * Who made an admin request. The token is shared, so the client address (trust-proxy aware, from express)
 * is what identifies the caller; an operator name in X-Koogate-Operator is recorded next to it, as given.
 */
export function httpActor(req: Request): string {
  const named = req.get('x-koogate-operator');
  const who = named !== undefined && OPERATOR.test(named) ? `${named}@` : '';
  return `${who}http:${req.ip ?? 'unknown'}`;
}
