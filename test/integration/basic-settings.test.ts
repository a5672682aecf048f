import { createLogger } from '../../src/observability/logger';
import type { Stack } from '../../src/sandbox/stack';
import { basicBodies, basicCalls } from '../support/basic';
import { bodies, kitCalls } from '../support/kit';
import { syncedStack } from '../support/stack';

/** Where koogate serves the basic interfaces, what it says at start-up, and what it answers without a key. */
describe('the production address', () => {
  const lines: Record<string, unknown>[] = [];
  const capture = createLogger('info', (l) => void lines.push(JSON.parse(l) as Record<string, unknown>));
  let custom: Stack;
  let keyless: Stack;

  beforeAll(async () => {
    custom = await syncedStack({ log: capture.child({ stack: 'custom' }), env: { KOOGATE_PRODUCE_PATH: '/isv/produce' } });
    keyless = await syncedStack({ log: capture.child({ stack: 'keyless' }), env: { KOOGATE_BASIC_ACCESS_KEY: '' } });
  }, 60_000);
  afterAll(async () => {
    await custom?.close();
    await keyless?.close();
  });

  const logsOf = (stack: string) => lines.filter((l) => l.stack === stack && l.probe === undefined);

  test('the start-up log prints the URL to register, and says when the basic interfaces are off', () => {
    const registered = logsOf('custom').find((l) => l.msg === 'production address to register in the seller console');
    expect(registered).toMatchObject({ level: 'info', url: `${custom.url}/isv/produce`, kitCalls: `${custom.url}/isv/produce/produceAPI/v2/<interface>` });
    expect(logsOf('custom').some((l) => String(l.msg).includes('basic interfaces are off'))).toBe(false);
    const off = logsOf('keyless').find((l) => String(l.msg).includes('basic interfaces are off'));
    expect(off).toMatchObject({ level: 'warn', url: `${keyless.url}/_koogate/produce` });
    // No key, basic or kit, reaches a log line.
    const all = JSON.stringify(lines);
    expect(all).not.toContain(custom.secrets.basicAccessKey);
    expect(all).not.toContain(custom.secrets.accessKey);
  });

  test('a produce path of its own serves the basic calls at it and the kit calls under it (V2 and V1), the root kit path too', async () => {
    const basic = basicCalls(() => ({ url: `${custom.koogate.url}/isv/produce`, accessKey: custom.secrets.basicAccessKey }));
    const a = await basic.send('newInstance', basicBodies.newInstance('o-custom'));
    expect(a.json).toMatchObject({ resultCode: '000000' });
    for (const base of [`${custom.koogate.url}/isv/produce`, custom.koogate.url]) {
      const kit = kitCalls(() => ({ baseUrl: base, accessKey: custom.secrets.accessKey }));
      expect((await kit.send('tenantSync', bodies.tenant('t-x', 'https://id.example/t-x'))).resultCode).toBe('000000');
      expect((await kit.send('tenantSync', bodies.tenant('t-x', 'https://id.example/t-x'), { generation: 'v1' })).bodySign).toBe('valid');
    }
    // The default path is nothing special once another is set: it is not the production address.
    const old = basicCalls(() => ({ url: `${custom.koogate.url}/_koogate/produce`, accessKey: custom.secrets.basicAccessKey }));
    expect((await old.send('newInstance', basicBodies.newInstance('o-old'))).status).toBe(404);
  });

  test('without KOOGATE_BASIC_ACCESS_KEY every basic call answers 000001 with a clear resultMsg, signed or not', async () => {
    for (const key of [keyless.secrets.basicAccessKey, keyless.secrets.accessKey]) {
      const basic = basicCalls(() => ({ url: `${keyless.koogate.url}/_koogate/produce`, accessKey: key }));
      const a = await basic.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'FREEZE'));
      expect(a.status).toBe(200);
      expect(a.contentType).toMatch(/^application\/json/);
      expect(a.json).toEqual({ resultCode: '000001', resultMsg: expect.stringContaining('KOOGATE_BASIC_ACCESS_KEY') });
    }
    expect(await keyless.koogate.directory.instances.get('inst-t-acme')).toBeNull();
    // Kit calls keep working with their own key.
    const kit = kitCalls(() => ({ baseUrl: `${keyless.koogate.url}/_koogate/produce`, accessKey: keyless.secrets.accessKey }));
    expect((await kit.send('tenantSync', bodies.tenant('t-y', 'https://id.example/t-y'))).resultCode).toBe('000000');
  });
});
