/**
 * The sandbox marketplace: a local stand-in for KooGallery's side of the login contract
 * (docs/protocol.md, "Login"), served over real HTTP so koogate's real OAuth client code is exercised.
 *
 * Used by the demo (`npm start` with no configuration) and by tests. Production code never imports it.
 *
 * It is a few rooms on one origin (`url`), each in rooms/ and sharing one RoomContext:
 *   unified login (rooms/unified-login.ts)
 *     GET  /unified-login/                         the unified login page (parameters in the URL fragment)
 *     POST /unified-login/authorize                form post of the page: sets the marketplace session, 302 to callback
 *     GET  /unified-login/continue?appId=          live session: fresh code, 302 to callback; else back to the form
 *     GET  /t/:tenantId/api/v1/logout              ends the marketplace session, 302 to redirect_url
 *   OAuth server (rooms/oauth-server.ts)
 *     POST /t/:tenantId/api/v1/oauth2/token        authorization_code and refresh_token grants (client_secret_post)
 *     GET  /t/:tenantId/api/v1/oauth2/userinfo     Bearer access token
 *   order query (rooms/order-query.ts)
 *     GET  /api/mkp-openapi-public/global/v1/order/query      AK/SK-signed order query
 *   usage intake (rooms/usage-intake.ts)
 *   orders (rooms/orders.ts): a whole purchase (newInstance, then the kit syncs carrying the instanceId)
 *     and the order console that freezes, unfreezes and releases a tenant's instance
 *     POST /api/mkp-openapi-public/global/v1/isv/usage-data   signed usage-record push
 *   fault injection (rooms/faults.ts): the delays and forced failures of `behaviour`
 *   demo data (rooms/demo-data.ts): the tenants and users it knows by default
 * Each tenant's identity domain (`domainOf`) is `${url}/t/${tenantId}`. A new room is a module of rooms/
 * with a `mount(app, form)` (or a `router()`), added to `rooms` in SandboxServer's constructor.
 *
 * Simplification: a tenant has one OAuth client (clientId/clientSecret) that serves every registered app.
 */
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { defaultBehaviour, emptyStats, type RoomContext } from './rooms/context';
import { demoTenants } from './rooms/demo-data';
import { Faults } from './rooms/faults';
import { OAuthServer } from './rooms/oauth-server';
import { OrderQueryRoom } from './rooms/order-query';
import { SandboxOrders } from './rooms/orders';
import { UsageIntakeRoom } from './rooms/usage-intake';
import { UNIFIED_LOGIN_PATH, UnifiedLogin } from './rooms/unified-login';
import { serve, type Served } from './serve';
import type { Sandbox, SandboxApp, SandboxBehaviour, SandboxOptions, SandboxStats, SandboxTenant, SandboxUser } from './types';

export type { Sandbox, SandboxApp, SandboxBehaviour, SandboxFailure, SandboxOptions, SandboxStats, SandboxTenant, SandboxUser } from './types';
export { defaultBehaviour } from './rooms/context';
export { demoTenants } from './rooms/demo-data';
export { MARKETPLACE_SESSION_COOKIE } from './rooms/unified-login';

interface Room {
  mount(app: Express, form: RequestHandler): void;
}

/** A room that brings its own express Router. */
const routerRoom = (r: { router(): express.Router }): Room => ({ mount: (app) => void app.use(r.router()) });

function validateCallbackUrl(app: SandboxApp): void {
  let u: URL;
  try {
    u = new URL(app.callbackUrl);
  } catch {
    throw new Error(`sandbox: callbackUrl of app ${app.appId} is not an absolute URL: ${app.callbackUrl}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`sandbox: callbackUrl of app ${app.appId} must be http(s): ${app.callbackUrl}`);
  }
  if (!app.appId) throw new Error('sandbox: appId must not be empty');
}

class SandboxServer implements Sandbox {
  url = '';
  loginUrlTemplate = '';
  behaviour: SandboxBehaviour;
  readonly tenants: SandboxTenant[];
  /** The fault room: every room's forced failures (the OAuth endpoints', the open API's) are answered by it. */
  private readonly faults = new Faults();
  readonly orderQuery = new OrderQueryRoom(this.faults);
  readonly usageIntake = new UsageIntakeRoom(this.faults);
  readonly orders: SandboxOrders = new SandboxOrders(this);

  private readonly statsValue: SandboxStats = emptyStats();
  private readonly apps = new Map<string, SandboxApp>();
  private readonly oauth: OAuthServer;
  private readonly rooms: Room[];
  private served?: Served;

  constructor(opts: SandboxOptions) {
    this.tenants = opts.tenants ?? demoTenants();
    this.behaviour = { ...defaultBehaviour(), ...opts.behaviour };
    for (const app of opts.apps ?? []) this.registerApp(app);
    const ctx: RoomContext = {
      tenants: this.tenants,
      apps: this.apps,
      stats: this.statsValue,
      behaviour: () => this.behaviour,
      url: () => this.url,
      loginUrlTemplate: () => this.loginUrlTemplate,
      tenant: (tenantId) => this.tenants.find((t) => t.tenantId === tenantId),
      user: (tenant, userName): SandboxUser | undefined => tenant.users.find((u) => u.userName === userName),
      faults: this.faults,
    };
    this.oauth = new OAuthServer(ctx);
    this.rooms = [
      new UnifiedLogin(ctx, (appId, tenantId, userName) => this.oauth.issueCode(appId, tenantId, userName)),
      this.oauth,
      routerRoom(this.orderQuery),
      routerRoom(this.usageIntake),
      routerRoom(this.orders),
    ];
  }

  get stats(): SandboxStats {
    return this.statsValue;
  }

  async listen(host: string, port: number): Promise<void> {
    this.served = await serve(this.buildApp(), host, port);
    this.url = this.served.url;
    this.loginUrlTemplate = `${this.url}${UNIFIED_LOGIN_PATH}#/portal-login?ind=UNOP&appId={appId}`;
  }

  domainOf(tenantId: string): string {
    return `${this.url}/t/${encodeURIComponent(tenantId)}`;
  }

  registerApp(app: SandboxApp): void {
    validateCallbackUrl(app);
    this.apps.set(app.appId, { appId: app.appId, callbackUrl: app.callbackUrl });
  }

  resetStats(): void {
    const s = this.statsValue;
    Object.assign(s, emptyStats());
    delete s.lastTokenRequest;
  }

  issueCode(appId: string, tenantId: string, userName: string): string {
    return this.oauth.issueCode(appId, tenantId, userName);
  }

  expireAccessTokens(): void {
    this.oauth.expireAccessTokens();
  }

  revokeRefreshTokens(): void {
    this.oauth.revokeRefreshTokens();
  }

  async close(): Promise<void> {
    if (this.faults.closed) return;
    this.faults.close();
    await this.served?.close();
  }

  private buildApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const form = express.urlencoded({ extended: false, limit: '16kb' });
    for (const room of this.rooms) room.mount(app, form);

    app.use((req, res) => {
      res.status(404).json({ error: 'not_found', error_description: `no route for ${req.method} ${req.path}` });
    });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      if (res.headersSent) return;
      const status =
        typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
      if (status >= 500) {
        res.status(500).json({ error: 'server_error', error_description: String(err) });
      } else {
        res.status(status).json({ error: 'invalid_request', error_description: String((err as Error).message ?? err) });
      }
    });
    return app;
  }
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = new SandboxServer(opts);
  await sandbox.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return sandbox;
}
