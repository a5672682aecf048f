import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/observability/logger';
import { formatUsageTime } from '../../src/outbound/usage-record';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import type { Stack } from '../../src/sandbox/stack';
import { basicBodies, basicCalls } from '../support/basic';
import { syncedStack } from '../support/stack';
import { eventually, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * koogate with its open-API calls aimed at the stand-in marketplace: a newInstance's order read in the
 * background and shown by the directory API and an `orderDetails` webhook event; usage records posted to
 * the admin API, validated, queued, pushed and read back; hostile posts refused without a trace; never a
 * secret in a log line, answer or event.
 */
const ADMIN = `admin-${randomBytes(24).toString('hex')}`;
const API = `api-${randomBytes(24).toString('hex')}`;
const HOOK_SECRET = `hook-${randomBytes(24).toString('hex')}`;
const HOUR = 3600_000;

describe('order details and usage records through koogate', () => {
  let sandbox: Sandbox;
  let stack: Stack;
  let receiver: WebhookReceiver;
  const lines: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({});
    receiver = await startWebhookReceiver();
    stack = await syncedStack({
      sandbox,
      openApi: true,
      log: createLogger('debug', (l) => lines.push(l)),
      env: { KOOGATE_ADMIN_TOKEN: ADMIN, KOOGATE_API_TOKEN: API, KOOGATE_OUTBOUND_RETRY_BASE_MS: '20', KOOGATE_WEBHOOK_URL: receiver.url, KOOGATE_WEBHOOK_SECRET: HOOK_SECRET, KOOGATE_WEBHOOK_RETRY_BASE_MS: '20' },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await sandbox?.close();
    await receiver?.close();
  });

  const basic = basicCalls(() => ({ url: `${stack.koogate.url}/_koogate/produce`, accessKey: stack.secrets.basicAccessKey }));
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.koogate.url}/_koogate/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });
  const post = (body: unknown) => admin('/usage', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const instancesApi = async () => ((await (await fetch(`${stack.koogate.url}/_koogate/api/instances`, { headers: { authorization: `Bearer ${API}` } })).json()) as { items: { instanceId: string; orderDetails: { state: string; details?: Record<string, unknown> } | null }[] }).items;
  const newInstance = async (orderId: string): Promise<string> => {
    const a = await basic.send('newInstance', basicBodies.newInstance(orderId, { orderLineId: `${orderId}-000001` }));
    expect(a.json.resultCode).toBe('000000');
    return a.json.instanceId as string;
  };
  const fetched = async (instanceId: string) =>
    eventually(async () => (await instancesApi()).find((i) => i.instanceId === instanceId)?.orderDetails?.state === 'fetched', `the order of ${instanceId} read`, 20_000);
  const base = Math.floor(Date.now() / HOUR) * HOUR - 100 * HOUR;
  const rec = (instanceId: string, i: number, over: Record<string, unknown> = {}) => ({
    instance_id: instanceId,
    record_time: formatUsageTime(base + (i + 1) * HOUR),
    begin_time: formatUsageTime(base + i * HOUR),
    end_time: formatUsageTime(base + (i + 1) * HOUR),
    usage_value: '3.5',
    metering_sn: `sn-${instanceId}-${i}`,
    ...over,
  });

  let ppu: string;
  let period: string;

  test('a newInstance is answered at once; its order is read in the background and shown by the directory API and a webhook event', async () => {
    sandbox.orderQuery.failNext.push({ status: 503, body: {} });
    ppu = await newInstance('MOCKONDEMAND');
    period = await newInstance('MOCKPERIODYEARNEW');
    await fetched(ppu);
    await fetched(period);
    const items = await instancesApi();
    expect(items.find((i) => i.instanceId === ppu)?.orderDetails).toMatchObject({
      state: 'fetched',
      orderId: 'MOCKONDEMAND',
      reason: 'newInstance',
      details: { orderType: 'NEW', chargingMode: 'pay-per-use', buyer: { customerId: 'cust-mockondemand', customerName: 'Demo Enterprise' } },
    });
    expect(items.find((i) => i.instanceId === period)?.orderDetails?.details).toMatchObject({ chargingMode: 'period', expireTime: '20270101080000' });
    const event = await receiver.waitFor((r) => r.event.interface === 'orderDetails' && r.event.data.instanceId === ppu, 'the orderDetails event');
    expect(event.event.data).toMatchObject({ instanceId: ppu, order: { state: 'fetched', details: { chargingMode: 'pay-per-use' } } });
    expect(sandbox.orderQuery.stats.refused).toBe(0);
  });

  test('usage records: queued, pushed, accepted, read back; duplicates named, never queued again', async () => {
    sandbox.usageIntake.payPerUse.add(ppu);
    const records = [rec(ppu, 0), rec(ppu, 1, { usage_value: 2 })];
    const res = await post({ usage_records: records });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ queued: 2, duplicates: 0, records: records.map((r) => ({ metering_sn: r.metering_sn, result: 'queued' })) });
    await eventually(async () => ((await (await admin(`/usage/${records[1]!.metering_sn}`)).json()) as { state: string }).state === 'accepted', 'accepted');
    const state = (await (await admin(`/usage/${records[0]!.metering_sn}`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ metering_sn: records[0]!.metering_sn, state: 'accepted', record: records[0], attempts: 0 });
    expect(sandbox.usageIntake.accepted.map((r) => r.metering_sn)).toEqual(expect.arrayContaining(records.map((r) => r.metering_sn)));

    const again = await post({ usage_records: [records[0], rec(ppu, 1, { metering_sn: 'sn-other' })] });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({
      queued: 0,
      duplicates: 2,
      records: [
        { metering_sn: records[0]!.metering_sn, result: 'duplicate', reason: 'metering_sn', state: 'accepted' },
        { metering_sn: 'sn-other', result: 'duplicate', reason: 'period', state: 'duplicate', duplicateOf: records[1]!.metering_sn },
      ],
    });
    expect((await admin('/usage/nobody')).status).toBe(404);

    // A metric counts records by state; the queue gauge is read from the shared store.
    const series = await stack.koogate.metrics.registry.metrics();
    expect(series).toMatch(/koogate_usage_records_total\{state="queued"\} 2\b/);
    expect(series).toMatch(/koogate_usage_records_total\{state="accepted"\} 2\b/);
    expect(series).toMatch(/koogate_usage_records_total\{state="duplicate"\} 2\b/);
    expect(series).toMatch(/koogate_usage_queue_depth 0\b/);
    expect(series).toMatch(/koogate_order_queries_total\{outcome="fetched"\} 2\b/);
  });

  test('refused: a period instance, an unknown instance, bad values; the whole post changes nothing', async () => {
    const before = sandbox.usageIntake.stats.calls;
    const res = await post({ usage_records: [rec(ppu, 10), rec(period, 0), rec('inst-nobody', 0), rec(ppu, 11, { usage_value: '0.00001' })] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; problems: { index: number; field: string; problem: string }[] };
    expect(body.code).toBe('KOOGATE_BAD_REQUEST');
    expect(body.problems.map((p) => [p.index, p.field])).toEqual([[3, 'usage_value']]);
    const res2 = await post({ usage_records: [rec(ppu, 10), rec(period, 0), rec('inst-nobody', 0)] });
    expect(((await res2.json()) as typeof body).problems.map((p) => [p.index, p.problem])).toEqual([
      [1, expect.stringContaining('not pay-per-use')],
      [2, expect.stringContaining('unknown instance')],
    ]);
    expect((await admin(`/usage/${rec(ppu, 10).metering_sn}`)).status).toBe(404);
    expect(sandbox.usageIntake.stats.calls).toBe(before);
  });

  test('hostile posts: no or a wrong token, huge, nested, wrongly typed, control characters, not JSON, another content type', async () => {
    const good = JSON.stringify({ usage_records: [rec(ppu, 20)] });
    expect((await fetch(`${stack.koogate.url}/_koogate/admin/usage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: good })).status).toBe(401);
    expect((await fetch(`${stack.koogate.url}/_koogate/admin/usage`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API}` }, body: good })).status).toBe(401);
    const cases: [string, string | undefined, Record<string, string>?][] = [
      ['huge', JSON.stringify({ usage_records: Array.from({ length: 1000 }, (_, i) => rec(ppu, 100 + i, { relate_pkg_instance: 'p'.repeat(64), metering_sn: `${'s'.repeat(50)}-${i}` })), pad: 'x'.repeat(600_000) })],
      ['nested', '{"usage_records":' + '['.repeat(5000) + ']'.repeat(5000) + '}'],
      ['deep in a record', JSON.stringify({ usage_records: [{ ...rec(ppu, 30), usage_value: { $gt: 0 } }] })],
      ['wrong types', JSON.stringify({ usage_records: [{ ...rec(ppu, 31), instance_id: 7, end_time: null }] })],
      ['control characters', JSON.stringify({ usage_records: [rec(ppu, 32, { metering_sn: 'sn\u0000\r\nX-Injected: 1' })] })],
      ['not JSON', '{"usage_records": [}'],
      ['a JSON string', '"usage_records"'],
      ['a form', 'usage_records=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['__proto__', '{"usage_records":[],"__proto__":{"polluted":true}}'],
    ];
    for (const [name, body, headers] of cases) {
      const res = await admin('/usage', { method: 'POST', body, headers });
      expect([name, res.status]).toEqual([name, 400]);
      const answer = (await res.json()) as { code: string };
      expect([name, answer.code]).toEqual([name, 'KOOGATE_BAD_REQUEST']);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await admin(`/usage/${encodeURIComponent('sn\u0000x')}`)).status).toBe(400);
    expect((await admin(`/usage/${'x'.repeat(65)}`)).status).toBe(400);
  });

  test('never a secret in a log line, an answer or an event', async () => {
    const text = [lines.join('\n'), JSON.stringify(receiver.received.map((r) => r.event))].join('\n');
    for (const secret of [stack.secrets.aksk.sk, stack.secrets.basicAccessKey, ADMIN, HOOK_SECRET, 'Signature=']) expect(text).not.toContain(secret);
    // Buyers' names are in the directory and the event, never in the log.
    expect(lines.join('\n')).not.toContain('Demo Enterprise');
  });
});
