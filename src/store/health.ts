import type { Health } from '../core/health';
import type { Logger } from '../observability/logger';
import type { KeyValueStore } from './store';

/** The health of one process: up while it answers; ready while its store answers. Never throws. */
export function storeHealth(store: KeyValueStore, log: Logger): Health {
  return {
    live: async () => ({ ok: true, body: { status: 'ok' } }),
    ready: async () => {
      try {
        await store.ping();
        return { ok: true, body: { status: 'ready', store: store.kind } };
      } catch (e) {
        log.warn('not ready: store unreachable', { err: e instanceof Error ? e.message : String(e) });
        return { ok: false, body: { status: 'unavailable', store: store.kind, reason: 'store unreachable' } };
      }
    },
  };
}
