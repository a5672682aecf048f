import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { accessOf } from '../directory/access';
import type { Directory } from '../directory/directory';
import type { Page, PageRequest } from '../directory/page';
import type { DepartmentRecord, InstanceRecord, TenantRecord, UserRecord } from '../directory/types';
import { KoogateError } from '../core/errors';
import type { Logger } from '../observability/logger';
import type { InstanceOrderDetails } from '../outbound/order-details';
import { bearerGuard } from './bearer';
import { jsonErrors } from '../pages/json-errors';

export interface DirectoryApiDeps {
  directory: Directory;
  appId: string;
  /** KOOGATE_API_TOKEN; without one the API is off and answers 404. */
  token?: string;
  log: Logger;
  /** The API's rate limit per client address, run before the token check. */
  limit?: RequestHandler;
  /** What the order query read of each instance's order (outbound/), by instance id; absent: off. */
  orderDetails?(instanceIds: readonly string[]): Promise<Map<string, InstanceOrderDetails>>;
}

export const API_BASE = '/_koogate/api';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

/**
 * The read-only directory API for the ISV app: tenants, a tenant's users and departments, as kit sync left
 * them. JSON only, paginated, behind a bearer token (KOOGATE_API_TOKEN). Client secrets never leave koogate.
 */
export function directoryApi(d: DirectoryApiDeps): Router {
  const log = d.log.child({ component: 'directory-api' });
  const router = express.Router();
  // Counted before the token is checked: guesses count like everything else.
  if (d.limit) router.use(d.limit);
  router.use(bearerGuard({ token: d.token, setting: 'KOOGATE_API_TOKEN' }));

  router.get('/tenants', async (req, res, next) => {
    try {
      const page = pageRequest(req);
      // Tenants are few (one per buyer): listed in full, paged here.
      const all = await d.directory.listTenants();
      const { items, total, next: after } = slice(all, (t) => t.tenantId, page);
      const creds = await Promise.all(items.map((t) => d.directory.hasAppCredential(t.tenantId, d.appId)));
      send(req, res, { items: items.map((t, i) => tenantView(t, creds[i]!)), total, next: after }, page);
    } catch (e) {
      next(e);
    }
  });

  router.get('/tenants/:tenantId/users', async (req, res, next) => {
    try {
      const page = pageRequest(req);
      const tenantId = await knownTenant(d.directory, req);
      const users = await d.directory.listUsers(tenantId, page);
      send(req, res, { ...users, items: users.items.map(userView) }, page);
    } catch (e) {
      next(e);
    }
  });

  router.get('/tenants/:tenantId/departments', async (req, res, next) => {
    try {
      const page = pageRequest(req);
      const tenantId = await knownTenant(d.directory, req);
      if (flag(req.query.tree)) {
        send(req, res, await d.directory.departmentTreePage(tenantId, page), page);
      } else {
        const flat = await d.directory.listDepartmentsPage(tenantId, page);
        send(req, res, { ...flat, items: flat.items.map(departmentView) }, page);
      }
    } catch (e) {
      next(e);
    }
  });

  router.get('/instances', async (req, res, next) => {
    try {
      const page = pageRequest(req);
      const instances = await d.directory.instances.list(page);
      send(req, res, { ...instances, items: await withOrderDetails(d, instances.items.map(instanceView)) }, page);
    } catch (e) {
      next(e);
    }
  });

  router.get('/tenants/:tenantId/instances', async (req, res, next) => {
    try {
      const page = pageRequest(req);
      const tenantId = await knownTenant(d.directory, req);
      // A tenant links a few instances: listed in full, paged here. One koogate holds no record of counts as active.
      const linked = await d.directory.instancesOfTenant(tenantId, d.appId);
      const views = linked.map(({ instanceId, record }) => (record ? instanceView(record) : unrecordedView(instanceId)));
      const one = slice(views, (v) => v.instanceId, page);
      send(req, res, { ...one, items: await withOrderDetails(d, one.items) }, page);
    } catch (e) {
      next(e);
    }
  });

  router.use((req, _res, next) => next(new KoogateError('KOOGATE_NOT_FOUND', 'Not found.', { path: req.path })));

  router.use(jsonErrors(log, 'directory API'));

  return router;
}

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const flag = (v: unknown): boolean => ['1', 'true', 'yes'].includes(one(v)?.toLowerCase() ?? '');

function badRequest(problem: string): KoogateError {
  return new KoogateError('KOOGATE_BAD_REQUEST', problem, { problem });
}

/** `?limit=&cursor=` (or `?offset=`); a cursor is opaque to clients: the last key of the previous page. */
export function pageRequest(req: Request): PageRequest {
  const q = req.query;
  for (const name of ['limit', 'cursor', 'offset', 'tree']) {
    if (q[name] !== undefined && typeof q[name] !== 'string') throw badRequest(`${name} must be given once`);
  }
  const limitRaw = one(q.limit);
  const limit = limitRaw === undefined ? DEFAULT_LIMIT : Number(limitRaw);
  if (!/^\d+$/.test(limitRaw ?? '1') || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  const cursor = one(q.cursor);
  const offsetRaw = one(q.offset);
  if (cursor !== undefined && offsetRaw !== undefined) throw badRequest('give cursor or offset, not both');
  if (offsetRaw !== undefined) {
    if (!/^\d{1,9}$/.test(offsetRaw)) throw badRequest('offset must be a whole number');
    return { limit, offset: Number(offsetRaw) };
  }
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    if (after === null) throw badRequest('cursor is not one this API gave');
    return { limit, after };
  }
  return { limit };
}

const encodeCursor = (key: string) => Buffer.from(`k:${key}`, 'utf8').toString('base64url');
function decodeCursor(c: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(c)) return null;
  const s = Buffer.from(c, 'base64url').toString('utf8');
  return s.startsWith('k:') ? s.slice(2) : null;
}

function slice<T>(all: T[], keyOf: (t: T) => string, page: PageRequest): Page<T> {
  let start = page.offset ?? 0;
  if (page.offset === undefined && page.after !== undefined) {
    const after = page.after;
    start = all.findIndex((t) => keyOf(t) > after);
    if (start < 0) start = all.length;
  }
  const items = all.slice(start, start + page.limit);
  const end = start + items.length;
  const more = end < all.length && items.length > 0;
  return { items, total: all.length, next: !more ? null : page.offset !== undefined ? { offset: end } : { after: keyOf(items[items.length - 1]!) } };
}

async function knownTenant(dir: Directory, req: Request): Promise<string> {
  const tenantId = String(req.params.tenantId);
  if (!(await dir.getTenant(tenantId))) throw new KoogateError('KOOGATE_NOT_FOUND', 'Unknown tenant.', { tenantId });
  return tenantId;
}

/** The answer: the page's items, the total, and the next page as a link that keeps the other parameters. */
function send<T>(req: Request, res: Response, page: Page<T>, asked: PageRequest): void {
  let next: string | null = null;
  if (page.next) {
    const params = new URLSearchParams();
    if (flag(req.query.tree)) params.set('tree', '1');
    params.set('limit', String(asked.limit));
    if ('offset' in page.next) params.set('offset', String(page.next.offset));
    else params.set('cursor', encodeCursor(page.next.after));
    next = `${req.baseUrl}${req.path}?${params.toString()}`;
  }
  res.json({ items: page.items, total: page.total, limit: asked.limit, next });
}

function tenantView(t: TenantRecord, hasCredentials: boolean) {
  return {
    tenantId: t.tenantId,
    tenantCode: t.tenantCode,
    name: t.name,
    domainName: t.domainName,
    instances: t.instances,
    testFlag: t.testFlag,
    hasCredentials,
    updatedAt: t.updatedAt,
  };
}

function userView(u: UserRecord) {
  const { appId: _appId, tenantId: _tenantId, ...rest } = u;
  return { ...rest, allowed: accessOf(u).allowed };
}

function instanceView(i: InstanceRecord) {
  return {
    instanceId: i.instanceId,
    orders: i.orders,
    status: i.status,
    expireTime: i.expireTime,
    trial: i.trial,
    testFlag: i.testFlag,
    productId: i.productId ?? null,
    provisioned: i.provisioned,
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
  };
}

/** Each instance with `orderDetails`: who bought it, how it is charged, until when (null until read). */
async function withOrderDetails<V extends { instanceId: string }>(d: DirectoryApiDeps, views: V[]): Promise<(V & { orderDetails: InstanceOrderDetails | null })[]> {
  const found = d.orderDetails ? await d.orderDetails(views.map((v) => v.instanceId)) : new Map<string, InstanceOrderDetails>();
  return views.map((v) => ({ ...v, orderDetails: found.get(v.instanceId) ?? null }));
}

/** An instance kit sync linked but no basic call told koogate of (an order older than koogate, a test flow). */
function unrecordedView(instanceId: string): ReturnType<typeof instanceView> {
  return { instanceId, orders: [], status: 'active', expireTime: null, trial: false, testFlag: 0, productId: null, provisioned: false, createdAt: '', updatedAt: '' };
}

function departmentView(dep: DepartmentRecord) {
  return { orgCode: dep.orgCode, orgName: dep.orgName, parentCode: dep.parentCode, updatedAt: dep.updatedAt };
}
