import type { Request } from 'express';
import type { SessionFilter, SessionSummary } from '../sessions/session-service';
import type { DeadLetter } from '../webhook/dead-letters';
import { badRequest, jsonBody, type AdminRoutes } from './api';
import type { AdminOperations } from './operations';

/** Tenant ids, user names and event ids as the admin API accepts them: visible, bounded, no separators. */
const NAME = /^[^\s\u0000-\u001f\u007f]{1,256}$/u;

function name(v: unknown, field: string, required: boolean): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !NAME.test(v)) throw badRequest(`${field} must be ${required ? 'given once, as ' : ''}1 to 256 visible characters`);
  return v;
}

function filterOf(source: Record<string, unknown>): SessionFilter {
  return { tenantId: name(source.tenant, 'tenant', true)!, userName: name(source.user, 'user', false) };
}

const body = (req: Request): Record<string, unknown> => {
  const b: unknown = req.body;
  if (b === undefined) return {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest('the body must be a JSON object');
  return b as Record<string, unknown>;
};

const iso = (ms: number) => new Date(ms).toISOString();

export const sessionView = (s: SessionSummary) => ({ ref: s.ref, tenantId: s.tenantId, userName: s.userName, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), expiresAt: iso(s.expiresAt) });

export const deadLetterView = (d: DeadLetter) => ({ id: d.id, event: d.event, tenantId: d.tenantId, attempts: d.attempts, queuedAt: iso(d.queuedAt), deadAt: iso(d.deadAt), lastError: d.lastError });

/** The operator's routes: sessions, dead letters, re-sealing; each action leaves an audit line. */
export function operationRoutes(ops: AdminOperations): AdminRoutes {
  return (router, ctx) => {
    router.get('/sessions', async (req, res, next) => {
      try {
        const filter = filterOf(req.query);
        const items = await ops.listSessions(filter);
        ctx.audit(req, 'sessions.list', items.length, { tenantId: filter.tenantId, userName: filter.userName });
        res.json({ items: items.map(sessionView), total: items.length });
      } catch (e) {
        next(e);
      }
    });

    router.post('/sessions/end', jsonBody(), async (req, res, next) => {
      try {
        const filter = filterOf(body(req));
        const ended = await ops.endSessions(filter);
        ctx.audit(req, 'sessions.end', ended, { tenantId: filter.tenantId, userName: filter.userName });
        res.json({ ended });
      } catch (e) {
        next(e);
      }
    });

    router.get('/webhook/dead-letters', async (req, res, next) => {
      try {
        const items = await ops.listDeadLetters();
        ctx.audit(req, 'webhook.dead-letters.list', items.length);
        res.json({ items: items.map(deadLetterView), total: items.length });
      } catch (e) {
        next(e);
      }
    });

    router.post('/webhook/dead-letters/redeliver', jsonBody(), async (req, res, next) => {
      try {
        const b = body(req);
        let ids: string[] | 'all';
        if (b.all === true && b.ids === undefined) ids = 'all';
        else if (b.all === undefined && Array.isArray(b.ids) && b.ids.length >= 1 && b.ids.length <= 1000) ids = b.ids.map((v) => name(v, 'each id', true)!);
        else throw badRequest('give {"ids":[…]} (1 to 1000 event ids) or {"all":true}');
        const out = await ops.redeliver(ids);
        ctx.audit(req, 'webhook.dead-letters.redeliver', out.requeued.length, { asked: ids === 'all' ? 'all' : ids.length, missing: out.missing.length });
        res.json(out);
      } catch (e) {
        next(e);
      }
    });

    router.post('/keys/reseal', async (req, res, next) => {
      try {
        const report = await ops.reseal();
        ctx.audit(req, 'keys.reseal', report.credentials.resealed + report.tokens.resealed, { credentials: report.credentials, grants: report.tokens });
        res.json(report);
      } catch (e) {
        next(e);
      }
    });
  };
}
