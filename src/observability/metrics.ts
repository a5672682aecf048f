import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics: process metrics plus koogate's own `koogate_` series, in one registry that the
 * metrics listener (observability/metrics-server.ts) serves. Every module records through the methods
 * below; a module that needs a series of its own declares it with `counter`, `gauge` or `histogram`,
 * which add the prefix. Every series name is documented in the README (a test scrapes and checks).
 *
 * Counting is always on (an increment is a map lookup); only the listener is optional. With several
 * workers each keeps its own registry and the primary serves their sum (`aggregateScrapes`).
 */
export class Metrics {
  readonly registry = new Registry();

  private readonly logins: Counter<'outcome'>;
  private readonly renewals: Counter<'outcome'>;
  private readonly marketplace: Histogram<'endpoint' | 'outcome'>;
  private readonly kitCalls: Counter<'interface' | 'generation' | 'result_code'>;
  private readonly proxied: Histogram<'status_class'>;
  /** Children per status class bound once: the proxied path observes without building a label key. */
  private readonly proxiedByClass: ReturnType<Histogram<'status_class'>['labels']>[];
  private readonly sessionsEnded: Counter<'reason'>;
  private readonly webhookDeliveries: Counter<'result'>;
  private readonly storeErrors: Counter;

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.logins = this.counter('logins_total', 'Logins by outcome: success, or the error code that refused or failed them.', ['outcome']);
    this.renewals = this.counter('token_renewals_total', 'Access-token renewals by outcome: renewed, refused (the session ends), unavailable (marketplace failed; retried).', ['outcome']);
    this.marketplace = this.histogram('marketplace_request_duration_seconds', 'Calls to the marketplace (token, refresh, userinfo) by endpoint and outcome (ok, refused, unavailable).', ['endpoint', 'outcome'], [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    this.kitCalls = this.counter('kit_calls_total', 'Kit and basic calls from KooGallery by interface, generation (v1, v2, basic) and the resultCode answered.', ['interface', 'generation', 'result_code']);
    this.proxied = this.histogram('proxy_request_duration_seconds', 'Proxied requests (not koogate\'s own routes) by status class, from arrival to the last byte sent; _count counts them.', ['status_class'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.proxiedByClass = ['1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => this.proxied.labels(c));
    this.sessionsEnded = this.counter('sessions_ended_total', 'Sessions ended by reason: logout, revoked (kit sync took access away), expired (idle, lifetime or refresh token), refused (refresh refused).', ['reason']);
    this.webhookDeliveries = this.counter('webhook_deliveries_total', 'Webhook delivery attempts by result: delivered, failed (retried later), dead (given up, kept in the dead letters).', ['result']);
    this.storeErrors = this.counter('store_errors_total', 'Store (Redis) commands that failed: unreachable, timed out or refused.');
  }

  /** A counter `koogate_<name>` in this registry. */
  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name: `koogate_${name}`, help, labelNames, registers: [this.registry] });
  }

  /**
   * A gauge `koogate_<name>`; `collect` (may be async) sets its value at each scrape. Across workers a
   * gauge of this process's own (open websockets) is summed; one that every worker reads from the shared
   * store (a queue's depth) is `shared`, and the workers' largest value is served instead.
   */
  gauge<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (g: Gauge<L>) => void | Promise<void>,
    across: 'own' | 'shared' = 'own',
  ): Gauge<L> {
    return new Gauge({
      name: `koogate_${name}`,
      help,
      labelNames,
      registers: [this.registry],
      aggregator: across === 'shared' ? 'max' : 'sum',
      ...(collect ? { collect() { return collect(this); } } : {}),
    });
  }

  /** A histogram `koogate_<name>` (seconds, by convention) with the given bucket bounds. */
  histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name: `koogate_${name}`, help, labelNames, buckets, registers: [this.registry] });
  }

  login(outcome: 'success' | string): void {
    this.logins.inc({ outcome });
  }

  renewal(outcome: 'renewed' | 'refused' | 'unavailable'): void {
    this.renewals.inc({ outcome });
  }

  marketplaceCall(endpoint: 'token' | 'refresh' | 'userinfo', outcome: 'ok' | 'refused' | 'unavailable', seconds: number): void {
    this.marketplace.observe({ endpoint, outcome }, seconds);
  }

  kitCall(iface: string, generation: string, resultCode: string): void {
    this.kitCalls.inc({ interface: iface, generation, result_code: resultCode });
  }

  /** One proxied request, at its end. */
  proxiedRequest(status: number, seconds: number): void {
    this.proxiedByClass[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))]!.observe(seconds);
  }

  sessionEnded(reason: string, count = 1): void {
    if (count > 0) this.sessionsEnded.inc({ reason }, count);
  }

  webhookDelivery(result: 'delivered' | 'failed' | 'dead'): void {
    this.webhookDeliveries.inc({ result });
  }

  storeError(): void {
    this.storeErrors.inc();
  }

  /** Every series as plain data, for the primary of several workers to sum (`aggregateScrapes`). */
  snapshot(): Promise<unknown[]> {
    return this.registry.getMetricsAsJSON();
  }

  /** The Prometheus text exposition of every series. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The Prometheus text of several workers' snapshots as one process: each series aggregated as its metric
 * says (prom-client's `aggregator`): counters and histograms summed, shared gauges their largest value,
 * process start time left out, event-loop lag averaged.
 */
export function aggregateScrapes(snapshots: unknown[][]): Promise<string> {
  return AggregatorRegistry.aggregate(snapshots as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
}

export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;
