import type { Health, HealthAnswer } from '../core/health';
import { PendingAnswers } from './answers';
import { isClusterMessage, type StatusAnswer, type StatusRequest, type ToPrimary } from './messages';

/** The IPC channel to the primary: `process` in a cluster worker. */
export interface PrimaryChannel {
  readonly connected: boolean;
  send(message: ToPrimary): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export interface WorkerLinkOptions {
  /** The cluster's id of this worker (1, 2, …; a restarted worker gets a new one). */
  workerId: number;
  /** This worker's own health: its store connection. */
  local: Health;
  storeKind: string;
  channel: PrimaryChannel;
  /** How long to wait for the primary's answer; it waits less long for the workers' own. */
  timeoutMs?: number;
  /** This worker's series (prom-client JSON), which the primary sums into its one metrics listener. */
  metrics?: () => Promise<unknown[]>;
}

/**
 * A worker's side of the cluster. It answers the primary's readiness probes from its own health, and makes
 * healthz and readyz speak for the whole process, whichever worker a probe reaches: healthz is up while
 * the primary answers, readyz is ready while every running worker can reach the store. It also hands the
 * primary its metrics for a scrape: workers open no metrics port of their own.
 */
export class WorkerLink {
  private readonly pending = new PendingAnswers<StatusAnswer>();
  private readonly timeoutMs: number;

  constructor(private readonly o: WorkerLinkOptions) {
    this.timeoutMs = o.timeoutMs ?? 3000;
  }

  start(): void {
    this.o.channel.on('message', this.onMessage);
  }

  stop(): void {
    this.o.channel.off('message', this.onMessage);
    this.pending.abandon();
  }

  /** healthz and readyz for the whole process. */
  readonly health: Health = {
    live: async (): Promise<HealthAnswer> => {
      const answer = await this.ask('live');
      if (!answer) return { ok: false, body: { status: 'unavailable', worker: this.o.workerId, reason: 'primary not answering' } };
      return { ok: true, body: { status: 'ok', worker: this.o.workerId, workers: answer.workers } };
    },
    ready: async (): Promise<HealthAnswer> => {
      const answer = await this.ask('ready');
      const base = { store: this.o.storeKind, worker: this.o.workerId };
      if (!answer) return { ok: false, body: { status: 'unavailable', ...base, reason: 'primary not answering' } };
      const { workers } = answer;
      if (workers.running > 0 && workers.ready === workers.running) return { ok: true, body: { status: 'ready', ...base, workers } };
      return { ok: false, body: { status: 'unavailable', ...base, reason: answer.reason ?? 'no worker ready', workers } };
    },
  };

  private ask(probe: StatusRequest['probe']): Promise<StatusAnswer | undefined> {
    if (!this.o.channel.connected) return Promise.resolve(undefined);
    return this.pending.ask(this.timeoutMs, (id) => {
      try {
        this.o.channel.send({ koogate: 'status', id, probe });
        return true;
      } catch {
        return false; // the channel closed in between: the primary is gone
      }
    });
  }

  private readonly onMessage = (m: unknown): void => {
    if (!isClusterMessage(m)) return;
    if (m.koogate === 'status-answer') return this.pending.answer(m.id, m);
    if (m.koogate === 'metrics') return void this.answerMetrics(m.id);
    if (m.koogate !== 'probe') return;
    void this.o.local.ready().then((h) => this.reply({ koogate: 'probe-answer', id: m.id, ready: h.ok, reason: typeof h.body.reason === 'string' ? h.body.reason : undefined }));
  };

  private async answerMetrics(id: number): Promise<void> {
    if (!this.o.metrics) return this.reply({ koogate: 'metrics-answer', id, error: 'this worker keeps no metrics' });
    try {
      this.reply({ koogate: 'metrics-answer', id, metrics: await this.o.metrics() });
    } catch (e) {
      this.reply({ koogate: 'metrics-answer', id, error: e instanceof Error ? e.message : String(e) });
    }
  }

  private reply(m: ToPrimary): void {
    if (!this.o.channel.connected) return;
    try {
      this.o.channel.send(m);
    } catch {
      /* the primary is gone; nobody waits for this answer */
    }
  }
}
