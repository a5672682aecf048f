import { aggregateScrapes, Metrics } from '../../../src/observability/metrics';

/** The value of one series (name and exact label set) in a Prometheus text scrape; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** One worker's registry: the series koogate declares, set as a worker would have them. */
function worker(o: { logins: number; sockets: number; queue: number; seconds: number[] }): Metrics {
  const m = new Metrics();
  for (let i = 0; i < o.logins; i++) m.login('success');
  m.kitCall('newInstance', 'basic', '000000');
  for (const s of o.seconds) m.proxiedRequest(200, s);
  m.gauge('websockets_open', 'open here', [], (g) => g.set(o.sockets));
  m.gauge('webhook_queue_depth', 'the shared queue', [], (g) => g.set(o.queue), 'shared');
  return m;
}

describe('several workers\' metrics served as one process', () => {
  test('counters and histograms add up, own gauges add up, shared gauges are not counted twice', async () => {
    const a = worker({ logins: 2, sockets: 1, queue: 7, seconds: [0.001, 0.2] });
    const b = worker({ logins: 3, sockets: 4, queue: 7, seconds: [0.001] });
    const text = await aggregateScrapes([await a.snapshot(), await b.snapshot()]);
    expect(sample(text, 'koogate_logins_total{outcome="success"}')).toBe(5);
    expect(sample(text, 'koogate_kit_calls_total{interface="newInstance",generation="basic",result_code="000000"}')).toBe(2);
    expect(sample(text, 'koogate_proxy_request_duration_seconds_count{status_class="2xx"}')).toBe(3);
    expect(sample(text, 'koogate_proxy_request_duration_seconds_bucket{le="0.005",status_class="2xx"}')).toBe(2);
    expect(sample(text, 'koogate_websockets_open')).toBe(5);
    expect(sample(text, 'koogate_webhook_queue_depth')).toBe(7);
    // Each series once, with its HELP and TYPE.
    expect(text.match(/^# TYPE koogate_logins_total counter$/gm)).toHaveLength(1);
    // Process series: CPU and memory add up; a start time is no sum and is left out.
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toMatch(/^process_start_time_seconds /m);
  });

  test('one worker\'s snapshot alone is that worker\'s scrape', async () => {
    const a = worker({ logins: 2, sockets: 1, queue: 3, seconds: [0.1] });
    const text = await aggregateScrapes([await a.snapshot()]);
    expect(sample(text, 'koogate_logins_total{outcome="success"}')).toBe(2);
    expect(sample(text, 'koogate_websockets_open')).toBe(1);
    expect(sample(text, 'koogate_webhook_queue_depth')).toBe(3);
  });
});
