import { randomBytes, type KeyObject } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { sendBasicCall } from '../../basic/client';
import { kitTimeStamp, sendKitCall, type KitInterface } from '../../kit/client';
import { sandboxPage } from '../login-page';
import { escapeHtml, sendPage } from '../page-shell';
import type { SandboxOrder as SandboxOrderInfo } from './order-query';

/** What a purchase needs of a tenant the stand-in marketplace knows (its SandboxTenant). */
export interface BuyingTenant {
  tenantId: string;
  tenantCode: string;
  name: string;
  clientId: string;
  clientSecret: string;
  users: { userName: string; name: string; organizationCode?: string; role?: string }[];
}

/** What the room needs of the marketplace around it. */
interface Marketplace {
  readonly url: string;
  domainOf(tenantId: string): string;
  /** The order query koogate reads the order from; the usage intake that takes a pay-per-use instance's records. */
  readonly orderQuery: { addOrder(order: SandboxOrderInfo): void };
  readonly usageIntake: { readonly payPerUse: Set<string> };
}

/** Where the stand-in marketplace sends its calls: the production address koogate prints, and the two keys. */
export interface ProductionAddress {
  /** `<koogate>/_koogate/produce`. */
  url: string;
  basicAccessKey: string;
  kitAccessKey: string;
  /** The merchant public key applicationSync's clientSecret is encrypted under. */
  publicKey: KeyObject;
  appId: string;
}

/** One order the stand-in marketplace sold: the instance koogate answered, and its state as the console last set it. */
export interface SandboxOrder {
  tenantId: string;
  orderId: string;
  orderLineId: string;
  instanceId: string;
  status: 'active' | 'frozen' | 'released';
}

export type OrderAction = 'freeze' | 'unfreeze' | 'release';

export const ORDERS_PATH = '/console/orders';

/**
 * The stand-in marketplace's order room: plays a whole purchase as KooGallery does (newInstance at the
 * production address, then tenantSync, applicationSync and authSync carrying the instanceId koogate
 * answered), and a console page whose buttons freeze, unfreeze and release a tenant's instance.
 */
export class SandboxOrders {
  readonly orders = new Map<string, SandboxOrder>();
  private target: ProductionAddress | undefined;

  constructor(private readonly sandbox: Marketplace) {}

  /** Where to send: koogate's production address is known once koogate listens. */
  connect(to: ProductionAddress): void {
    this.target = to;
  }

  private get to(): ProductionAddress {
    if (!this.target) throw new Error('sandbox orders: no production address connected');
    return this.target;
  }

  /** Buys the app for the tenant: newInstance, then the kit syncs that bind it, all users authorized. */
  async purchase(t: BuyingTenant): Promise<SandboxOrder> {
    const orderId = `CS-${t.tenantId}-${randomBytes(4).toString('hex')}`;
    const orderLineId = `${orderId}-000001`;
    // The first purchase is pay-per-use, the others by the year: the order query has them before newInstance.
    const payPerUse = this.orders.size === 0;
    this.sandbox.orderQuery.addOrder({
      orderId,
      orderType: 'NEW',
      customerId: `cust-${t.tenantId}`,
      customerName: t.name,
      userName: t.users[0]?.userName ?? 'buyer',
      createTime: '20260101080000',
      orderLine: [
        {
          orderLineId,
          chargingMode: payPerUse ? 'ON_DEMAND' : 'PERIOD',
          ...(payPerUse ? {} : { expireTime: '20270101000000' }),
          productInfo: [{ productId: 'OFFI000000000001', skuCode: payPerUse ? 'sku-ppu' : 'sku-year', productName: 'koogate demo product' }],
        },
      ],
    });
    const answer = await this.basic('newInstance', { orderId, orderLineId, businessId: randomBytes(16).toString('hex'), testFlag: '1' });
    const instanceId = String((answer as { instanceId?: unknown }).instanceId ?? '');
    if (!instanceId) throw new Error(`newInstance for ${t.tenantId} answered no instanceId`);
    const common = { instanceId, tenantId: t.tenantId, testFlag: 1, timeStamp: kitTimeStamp(Date.now()) };
    const calls: [KitInterface, Record<string, unknown>][] = [
      ['tenantSync', { ...common, orderId, tenantCode: t.tenantCode, name: t.name, domainName: this.sandbox.domainOf(t.tenantId), flag: 1 }],
      ['applicationSync', { ...common, appId: this.to.appId, clientId: t.clientId, clientSecret: t.clientSecret, flag: 1 }],
      [
        'authSync',
        {
          ...common,
          appId: this.to.appId,
          flag: 1,
          userList: t.users.map((u) => ({ userName: u.userName, name: u.name, orgCode: u.organizationCode ?? '', role: u.role ?? 'user', enable: 'true' })),
        },
      ],
    ];
    for (const [iface, body] of calls) {
      const res = await sendKitCall({ baseUrl: this.to.url, iface, accessKey: this.to.kitAccessKey, body, publicKey: this.to.publicKey });
      if ((res.body as { resultCode?: unknown } | undefined)?.resultCode !== '000000') throw new Error(`${iface} for ${t.tenantId} failed: ${res.text}`);
    }
    if (payPerUse) this.sandbox.usageIntake.payPerUse.add(instanceId);
    const order: SandboxOrder = { tenantId: t.tenantId, orderId, orderLineId, instanceId, status: 'active' };
    this.orders.set(t.tenantId, order);
    return order;
  }

  /** What the marketplace does when a subscription lapses, is paid again, or ends. */
  async act(tenantId: string, action: OrderAction): Promise<SandboxOrder> {
    const order = this.orders.get(tenantId);
    if (!order) throw new Error(`no order of ${tenantId}`);
    if (action === 'release') {
      await this.basic('releaseInstance', { instanceId: order.instanceId, orderId: order.orderId, orderLineId: order.orderLineId, testFlag: '1' });
      order.status = 'released';
    } else {
      await this.basic('updateInstanceStatus', { instanceId: order.instanceId, status: action === 'freeze' ? 'FREEZE' : 'UNFREEZE', testFlag: '1' });
      order.status = action === 'freeze' ? 'frozen' : 'active';
    }
    return order;
  }

  private async basic(activity: Parameters<typeof sendBasicCall>[0]['activity'], body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await sendBasicCall({ url: this.to.url, accessKey: this.to.basicAccessKey, activity, body });
    const answer = (res.body ?? {}) as Record<string, unknown>;
    if (answer.resultCode !== '000000') throw new Error(`${activity} failed: ${res.text}`);
    return answer;
  }

  /** The console: GET lists the orders; each button posts back here and returns to the list. */
  router(): Router {
    const router = express.Router();
    const form = express.urlencoded({ extended: false, limit: '4kb' });
    router.get(ORDERS_PATH, (_req, res) => this.page(res, 200, ''));
    router.post(`${ORDERS_PATH}/:tenantId/:action`, form, async (req: Request, res: Response) => {
      const action = String(req.params.action);
      const tenantId = String(req.params.tenantId);
      // The console's own page posts here; a cross-site form does not get to freeze anyone.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== this.sandbox.url) return this.page(res, 403, 'cross-site request refused');
      if (action !== 'freeze' && action !== 'unfreeze' && action !== 'release') return this.page(res, 400, 'unknown action');
      if (!this.orders.has(tenantId)) return this.page(res, 404, 'no such order');
      try {
        await this.act(tenantId, action);
      } catch (e) {
        return this.page(res, 502, e instanceof Error ? e.message : String(e));
      }
      res.redirect(303, ORDERS_PATH);
    });
    return router;
  }

  private page(res: Response, status: number, problem: string): void {
    const label = { active: '正常 Active', frozen: '已冻结 Frozen', released: '已释放 Released' };
    const rows = [...this.orders.values()]
      .map((o) => {
        const t = escapeHtml(o.tenantId);
        const button = (action: OrderAction, zh: string, en: string, enabled: boolean) =>
          `<form method="post" action="${ORDERS_PATH}/${encodeURIComponent(o.tenantId)}/${action}"><button type="submit" id="${action}-${t}" data-testid="${action}-${t}"${enabled ? '' : ' disabled'}>${zh} / ${en}</button></form>`;
        return `<tr><td>${t}</td><td><code>${escapeHtml(o.instanceId)}</code></td><td id="status-${t}" data-testid="status-${t}" data-status="${o.status}">${label[o.status]}</td><td class="row">${button('freeze', '冻结', 'Freeze', o.status === 'active')}${button('unfreeze', '解冻', 'Unfreeze', o.status === 'frozen')}${button('release', '释放', 'Release', o.status !== 'released')}</td></tr>`;
      })
      .join('\n');
    const nonce = randomBytes(16).toString('base64');
    sendPage(
      res,
      status,
      sandboxPage(
        '订单管理 · Orders (sandbox)',
        nonce,
        `  <h1>订单与实例<span class="en">Orders and instances</span></h1>
  ${problem ? `<div class="message" role="alert" data-kind="error">${escapeHtml(problem)}</div>` : ''}
  <p>冻结后，该企业的用户无法登录、已登录的会话立即结束；解冻后恢复。<span class="en">A freeze ends the tenant's sessions and refuses its logins; unfreezing restores them.</span></p>
  <table><tr><th>企业 Tenant</th><th>实例 Instance</th><th>状态 Status</th><th></th></tr>
${rows}
  </table>`,
        '',
      ),
      `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    );
  }
}
