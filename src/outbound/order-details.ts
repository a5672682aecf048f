/**
 * What koogate keeps of KooGallery's order query answer (`orderInfo`), per instance: who bought, what kind
 * of order, how it is charged and until when. Only these fields are kept; the buyer's phone and e-mail
 * are not (the app has its users from kit sync).
 */
export type ChargingMode = 'period' | 'one-time' | 'pay-per-use' | 'unknown';

export interface OrderDetails {
  orderId: string;
  orderLineId?: string;
  /** As KooGallery names it: NEW, RENEW, CHANGE, TRIAL_TO_FORMAL, UNSUBSCRIBE… */
  orderType?: string;
  chargingMode: ChargingMode;
  /** The marketplace's own value, kept for what koogate does not recognise. */
  chargingModeRaw?: string;
  /** UTC, as the order line gives it (yyyyMMddHHmmss). */
  expireTime?: string;
  productId?: string;
  skuCode?: string;
  productName?: string;
  buyer: { customerId?: string; customerName?: string; userId?: string; userName?: string };
  /** When koogate read it (ISO 8601). */
  fetchedAt: string;
}

/** Where an instance's order details are: asked for, read, or given up on. */
export interface InstanceOrderDetails {
  state: 'pending' | 'fetched' | 'failed';
  orderId: string;
  orderLineId?: string;
  /** The basic call that asked: newInstance, refreshInstance or upgradeInstance. */
  reason: string;
  /** When the basic call asked (ms since the epoch): a later ask supersedes an earlier one. */
  askedAt: number;
  details?: OrderDetails;
  attempts: number;
  lastError?: string;
  updatedAt: string;
}

/*
 * chargingMode has been documented both as words and as numbers (the V1 interfaces' 1 = by period,
 * 3 = on demand, 6 = one-time); both are read.
 */
const CHARGING: Record<string, ChargingMode> = {
  period: 'period',
  '1': 'period',
  onetime: 'one-time',
  one_time: 'one-time',
  '6': 'one-time',
  ondemand: 'pay-per-use',
  on_demand: 'pay-per-use',
  '3': 'pay-per-use',
};

const str = (v: unknown, max = 256): string | undefined => (typeof v === 'string' && v !== '' ? v.slice(0, max) : typeof v === 'number' ? String(v) : undefined);

/**
 * Reads `orderInfo` of a successful answer; null when it holds no order. The line is the one named
 * `orderLineId`, else the first. Nothing of the answer is trusted beyond strings of bounded length.
 */
export function parseOrderInfo(info: unknown, orderLineId: string | undefined, fetchedAtMs: number): OrderDetails | null {
  if (info === null || typeof info !== 'object') return null;
  const o = info as Record<string, unknown>;
  const orderId = str(o.orderId, 64);
  if (!orderId) return null;
  const lines = Array.isArray(o.orderLine) ? o.orderLine : Array.isArray(o.orderLineList) ? o.orderLineList : [];
  const objects = lines.filter((l): l is Record<string, unknown> => l !== null && typeof l === 'object');
  const line = objects.find((l) => l.orderLineId === orderLineId) ?? objects[0] ?? {};
  const rawMode = str(line.chargingMode ?? o.chargingMode, 32);
  const products = Array.isArray(line.productInfo) ? line.productInfo : line.productInfo && typeof line.productInfo === 'object' ? [line.productInfo] : [];
  // The product is a list on the line; older answers put its fields on the line itself.
  const product = (products.find((p): p is Record<string, unknown> => p !== null && typeof p === 'object') ?? line) as Record<string, unknown>;
  const drop = <T extends Record<string, unknown>>(v: T): T => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as T;
  return drop({
    orderId,
    orderLineId: str(line.orderLineId, 64) ?? orderLineId,
    orderType: str(o.orderType, 32),
    chargingMode: rawMode ? (CHARGING[rawMode.toLowerCase()] ?? 'unknown') : 'unknown',
    chargingModeRaw: rawMode,
    expireTime: str(line.expireTime ?? o.expireTime, 32),
    productId: str(product.productId, 64),
    skuCode: str(product.skuCode, 64),
    productName: str(product.productName),
    buyer: drop({ customerId: str(o.customerId, 64), customerName: str(o.customerName), userId: str(o.userId, 64), userName: str(o.userName) }),
    fetchedAt: new Date(fetchedAtMs).toISOString(),
  });
}
