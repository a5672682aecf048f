import type { Health } from '../core/health';
import type { Logger } from './logger';

/**
 * Stored values sealed under a key that KOOGATE_ENCRYPTION_KEYS no longer holds (the keys were replaced
 * instead of rotated, or derived from a session secret that changed). Each such key id is logged once,
 * as an error with the fix, and readiness reports them until the process restarts with the key back.
 */
export class SealedKeyAlarm {
  private readonly unknown = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly configuredKeyIds: () => string[],
  ) {}

  note(keyId: string): void {
    if (this.unknown.has(keyId)) return;
    this.unknown.add(keyId);
    this.log.error('stored data sealed under a key that is not configured; logins of the tenants it holds fail with KOOGATE_ENCRYPTION_KEY_MISSING', {
      keyId,
      configuredKeyIds: this.configuredKeyIds(),
      fix: 'put the old key back into KOOGATE_ENCRYPTION_KEYS after the current one and restart, then run `koogate keys reseal` before retiring it',
    });
  }

  get keyIds(): string[] {
    return [...this.unknown];
  }

  /** `health` whose readiness also fails while any stored value cannot be opened. */
  guard(health: Health): Health {
    return {
      live: () => health.live(),
      ready: async () => {
        const answer = await health.ready();
        if (this.unknown.size === 0) return answer;
        return { ok: false, body: { ...answer.body, status: 'unavailable', reason: 'stored data sealed under keys that are not configured (KOOGATE_ENCRYPTION_KEYS)', unknownKeyIds: this.keyIds } };
      },
    };
  }
}
