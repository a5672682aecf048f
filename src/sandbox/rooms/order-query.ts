import express, { type Request, type Response, type Router } from 'express';
import { verifyRequest } from '../../outbound/aksk-signature';
import type { Faults, SandboxFailure } from './faults';

/**
 * The stand-in's order query: GET /api/mkp-openapi-public/global/v1/order/query?orderId=&orderLineId=,
 * verified with Huawei Cloud AK/SK signing (SDK-HMAC-SHA256) as the API gateway does, answering
 * `{resultCode, resultMsg, orderInfo}`. Tests add orders and keys, and queue failures.
 */
export interface SandboxOrderLine {
  orderLineId: string;
  /** PERIOD, ONETIME or ON_DEMAND. */
  chargingMode: string;
  expireTime?: string;
  productInfo?: { productId: string; skuCode: string; linearValue?: string; productName: string }[];
}

export interface SandboxOrder {
  orderId: string;
  orderType: string;
  customerId: string;
  customerName: string;
  userId?: string;
  userName?: string;
  createTime?: string;
  orderLine: SandboxOrderLine[];
}

export interface OrderQueryStats {
  /** Every request that reached the route. */
  calls: number;
  /** Requests whose signature verified. */
  verified: number;
  /** Requests refused for their signature (missing, malformed, unknown key, stale, wrong). */
  refused: number;
  lastRefusal?: string;
}

export const ORDER_QUERY_ROUTE = '/api/mkp-openapi-public/global/v1/order/query';
/** The API gateway accepts an X-Sdk-Date this far from its clock. */
const SIGNATURE_WINDOW_MS = 15 * 60 * 1000;

/** The debug orders KooGallery documents for order-query testing, one per kind. */
export function debugOrders(): SandboxOrder[] {
  const order = (orderId: string, orderType: string, chargingMode: string, expireTime?: string): SandboxOrder => ({
    orderId,
    orderType,
    customerId: `cust-${orderId.toLowerCase()}`,
    customerName: 'Demo Enterprise',
    userName: 'demo-buyer',
    createTime: '20260101080000',
    orderLine: [{ orderLineId: `${orderId}-000001`, chargingMode, ...(expireTime ? { expireTime } : {}), productInfo: [{ productId: 'OFFI000000000001', skuCode: 'sku-0001', productName: 'koogate demo product' }] }],
  });
  return [
    order('MOCKPERIODYEARNEW', 'NEW', 'PERIOD', '20270101080000'),
    order('MOCKONETIMENEW', 'NEW', 'ONETIME'),
    order('MOCKONDEMAND', 'NEW', 'ON_DEMAND'),
    order('MOCKPERIODDAYTRIAL', 'NEW', 'PERIOD', '20260108080000'),
    order('MOCKMONTYRENEW', 'RENEW', 'PERIOD', '20270201080000'),
    order('MOCKMONTYCHANGE', 'CHANGE', 'PERIOD', '20270101080000'),
  ];
}

export class OrderQueryRoom {
  /** AK → SK of the merchant accounts the stand-in knows. */
  readonly keys = new Map<string, string>();
  readonly orders = new Map<string, SandboxOrder>();
  /** Answers forced on the next calls, one per call, before anything is checked (applied by the fault room). */
  readonly failNext: SandboxFailure[] = [];
  stats: OrderQueryStats = { calls: 0, verified: 0, refused: 0 };

  constructor(
    private readonly faults: Faults,
    orders: SandboxOrder[] = debugOrders(),
  ) {
    for (const o of orders) this.orders.set(o.orderId, o);
  }

  addOrder(order: SandboxOrder): void {
    this.orders.set(order.orderId, order);
  }

  router(): Router {
    const r = express.Router();
    r.get(ORDER_QUERY_ROUTE, (req, res) => this.query(req, res));
    return r;
  }

  private query(req: Request, res: Response): void {
    this.stats.calls++;
    if (this.faults.apply(req, res, this.failNext.shift())) return;
    const verdict = verifyRequest({ method: req.method, pathAndQuery: req.originalUrl, headers: req.headers, body: '' }, (ak) => this.keys.get(ak), Date.now(), SIGNATURE_WINDOW_MS);
    if (!verdict.ok) {
      this.stats.refused++;
      this.stats.lastRefusal = verdict.reason;
      res.status(401).json({ error_code: 'APIGW.0301', error_msg: `Incorrect IAM authentication information: ${verdict.reason}` });
      return;
    }
    this.stats.verified++;
    const orderId = typeof req.query.orderId === 'string' ? req.query.orderId : '';
    const orderLineId = typeof req.query.orderLineId === 'string' ? req.query.orderLineId : undefined;
    if (!orderId || orderId.length > 64 || (orderLineId !== undefined && orderLineId.length > 64)) {
      res.json({ resultCode: '000002', resultMsg: 'orderId is required (at most 64 characters)' });
      return;
    }
    const order = this.orders.get(orderId);
    const lines = order?.orderLine.filter((l) => orderLineId === undefined || l.orderLineId === orderLineId) ?? [];
    if (!order || lines.length === 0) {
      res.json({ resultCode: '000003', resultMsg: 'the order does not exist' });
      return;
    }
    res.json({ resultCode: '000000', resultMsg: 'success', orderInfo: { ...order, orderLine: lines } });
  }
}
