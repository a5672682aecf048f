import { silentLogger } from '../../src/observability/logger';
import { DEMO_APP_ID, startStack, type Stack, type StackOptions } from '../../src/sandbox/stack';

export { DEMO_APP_ID };

export async function syncedStack(opts: Partial<StackOptions> = {}): Promise<Stack> {
  const stack = await startStack({ log: silentLogger, ...opts });
  await stack.syncTenants();
  return stack;
}

export const api = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
