import type { ResealOutcome } from '../crypto/sealed';
import type { Directory } from '../directory/directory';
import type { SessionFilter, SessionService, SessionSummary } from '../sessions/session-service';
import type { GrantStore } from '../tokens/grant-store';
import type { KeyValueStore } from '../store/store';
import { DeadLetters, type DeadLetter, type Redelivery } from '../webhook/dead-letters';

/** How many stored values a re-seal found in each state. */
export type ResealCounts = Record<ResealOutcome, number>;

export interface ResealReport {
  /** Tenants' client secrets (applicationSync). */
  credentials: ResealCounts;
  /** Sessions' marketplace tokens. */
  tokens: ResealCounts;
}

export interface AdminOperationsDeps {
  sessions: SessionService;
  deadLetters: DeadLetters;
  directory: Directory;
  grants: GrantStore;
  appId: string;
}

/**
 * What an operator can do, the same over the CLI and the admin API: find and end sessions, look at and
 * redeliver dead webhook events, and re-seal every stored secret under the first encryption key.
 */
export class AdminOperations {
  constructor(private readonly d: AdminOperationsDeps) {}

  listSessions(filter: SessionFilter): Promise<SessionSummary[]> {
    return this.d.sessions.list(filter);
  }

  /** "Log out everywhere": every replica drops them at once and closes their websockets. */
  endSessions(filter: SessionFilter): Promise<number> {
    return this.d.sessions.endSessions(filter);
  }

  listDeadLetters(): Promise<DeadLetter[]> {
    return this.d.deadLetters.list();
  }

  redeliver(ids: readonly string[] | 'all'): Promise<Redelivery> {
    return this.d.deadLetters.redeliver(ids);
  }

  /**
   * Opens every sealed value still under an older key and seals it under the current one, so the older
   * keys can be removed from KOOGATE_ENCRYPTION_KEYS. `failed` counts values no configured key opens:
   * they stay as they are (a secret applicationSync must send again, a session that will end).
   */
  async reseal(): Promise<ResealReport> {
    const report: ResealReport = { credentials: counts(), tokens: counts() };
    for (const tenant of await this.d.directory.listTenants()) {
      report.credentials[await this.d.directory.resealAppCredential(tenant.tenantId, this.d.appId)]++;
      for (const grantId of await this.d.sessions.grantIds(tenant.tenantId)) report.tokens[await this.d.grants.reseal(grantId)]++;
    }
    return report;
  }
}

const counts = (): ResealCounts => ({ resealed: 0, current: 0, gone: 0, failed: 0 });

/** The shared store and the services over it that the operations act on. */
export interface AdminState {
  store: KeyValueStore;
  directory: Directory;
  grants: GrantStore;
  sessions: SessionService;
}

/** The operations over the shared state koogate (or a command) opened. */
export function adminOperations(state: AdminState, appId: string): AdminOperations {
  return new AdminOperations({ sessions: state.sessions, deadLetters: new DeadLetters(state.store), directory: state.directory, grants: state.grants, appId });
}
