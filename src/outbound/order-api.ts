import { signRequest, type AkSk } from './aksk-signature';
import { apiUrl, callMarketplace, type MarketplaceHosts } from './marketplace-hosts';
import { parseOrderInfo, type OrderDetails } from './order-details';

export const ORDER_QUERY_PATH = '/api/mkp-openapi-public/global/v1/order/query';
/** The order query's success code (`resultCode`), as the basic interfaces use it. */
export const ORDER_FOUND = '000000';

export interface OrderQueryTarget {
  hosts: MarketplaceHosts;
  keys: AkSk;
}

export type OrderQueryResult = { kind: 'found'; details: OrderDetails } | { kind: 'retry'; error: string; stopped?: boolean };

/**
 * GET …/order/query?orderId=&orderLineId=, AK/SK-signed. Anything but an order is worth asking again later
 * (the order may not be queryable yet, the key may be fixed): the caller retries with back-off.
 */
export async function queryOrder(target: OrderQueryTarget, orderId: string, orderLineId: string | undefined, nowMs: () => number, stop: AbortSignal): Promise<OrderQueryResult> {
  const outcome = await callMarketplace(
    target.hosts,
    (base) => {
      const url = apiUrl(base, ORDER_QUERY_PATH, { orderId, orderLineId });
      const headers = { 'content-type': 'application/json;charset=UTF-8' };
      // fetch sends the URL's host as Host; the same value is what is signed.
      const signed = signRequest(target.keys, { method: 'GET', pathAndQuery: url.pathname + url.search, headers: { ...headers, host: url.host }, body: '' }, nowMs());
      return { url, init: { method: 'GET', headers: { ...headers, 'user-agent': 'koogate-order-query', 'x-sdk-date': signed['X-Sdk-Date'], authorization: signed.Authorization } } };
    },
    stop,
  );
  if (!outcome.ok) return { kind: 'retry', error: outcome.error, stopped: outcome.stopped };
  const { status, json } = outcome.answer;
  const answer = (json ?? {}) as { resultCode?: unknown; resultMsg?: unknown; orderInfo?: unknown; error_code?: unknown; error_msg?: unknown };
  const code = typeof answer.resultCode === 'string' ? answer.resultCode : typeof answer.error_code === 'string' ? answer.error_code : undefined;
  const msg = typeof answer.resultMsg === 'string' ? answer.resultMsg : typeof answer.error_msg === 'string' ? answer.error_msg : '';
  if (status === 200 && code === ORDER_FOUND) {
    const details = parseOrderInfo(answer.orderInfo, orderLineId, nowMs());
    if (details) return { kind: 'found', details };
    return { kind: 'retry', error: 'answer without orderInfo' };
  }
  return { kind: 'retry', error: `HTTP ${status}${code ? ` ${code}` : ''}${msg ? `: ${msg.slice(0, 200)}` : ''}` };
}
