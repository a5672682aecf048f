import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { LogFields, Logger } from '../observability/logger';
import { aggregateScrapes, METRICS_CONTENT_TYPE } from '../observability/metrics';
import type { MetricsSource } from '../observability/metrics-server';
import { PendingAnswers } from './answers';
import { relayLines } from './output';
import { isClusterMessage, type MetricsAnswer, type ReadinessAnswer, type StatusRequest, type ToWorker, type WorkerCounts } from './messages';

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** Fields of the one "koogate listening" line, logged once every worker listens (public URL, upstream, store). */
  describe: LogFields;
  /** How long a worker may drain after SIGTERM before the primary kills it. */
  stopDeadlineMs: number;
  /** How long a worker may take to answer a readiness probe. */
  probeTimeoutMs?: number;
  /** How long a worker may take to hand over its metrics for a scrape. */
  metricsTimeoutMs?: number;
}

/** Restarts of crashing workers wait this long, doubling with each death in the last minute, up to 30 s. */
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
const DEATH_WINDOW_MS = 60_000;

/**
 * The primary of KOOGATE_WORKERS > 1. It serves nothing itself: it forks the workers (each a whole koogate
 * on the shared port, node:cluster handing out connections), forks a new one when one dies, answers the
 * workers' questions about the whole process, and on SIGTERM or SIGINT relays SIGTERM to every worker,
 * which drains as a single process does, then exits once they all have. It is the metrics source of the
 * one metrics listener: a scrape asks every listening worker for its series and answers their sum.
 */
export class Primary implements MetricsSource {
  /**
   * The workers forked and not yet exited. Not cluster.workers: node:cluster keeps a worker listed
   * until its IPC channel has closed too, which may come after its 'exit' event; counting on that list,
   * the last exit of a stop could find a worker still listed, wait for an event that is never handled,
   * and let the process end with 0 when its event loop ran empty.
   */
  private readonly alive = new Map<number, Worker>();
  private readonly listening = new Set<number>();
  private readonly deaths: number[] = [];
  private everListened = false;
  private stopping = false;
  private failed = false;
  private readonly probes = new PendingAnswers<ReadinessAnswer>();
  private readonly probeTimeoutMs: number;
  private readonly scrapes = new PendingAnswers<MetricsAnswer>();
  private readonly metricsTimeoutMs: number;
  /** Workers' output still being relayed: a worker's last lines may follow its exit event. */
  private readonly relaying = new Set<Promise<void>>();
  private finished!: (code: number) => void;
  /** Resolves with the exit code once every worker is gone, its last lines written, after a stop (or a failed start). */
  readonly done = new Promise<number>((ok) => (this.finished = ok));

  constructor(private readonly o: PrimaryOptions) {
    this.probeTimeoutMs = o.probeTimeoutMs ?? 2000;
    this.metricsTimeoutMs = o.metricsTimeoutMs ?? 3000;
  }

  start(): void {
    // Structured clone on the IPC channel: a gauge's NaN (a queue the store could not size) stays NaN.
    // Each worker's stdout and stderr a pipe of its own, relayed here in whole lines (cluster/output.ts).
    cluster.setupPrimary({ serialization: 'advanced', stdio: [0, 'pipe', 'pipe', 'ipc'] });
    cluster.on('listening', this.onListening);
    cluster.on('exit', this.onExit);
    cluster.on('message', this.onMessage);
    for (let i = 0; i < this.o.workers; i++) this.fork();
    process.on('SIGTERM', () => this.stop('SIGTERM'));
    process.on('SIGINT', () => this.stop('SIGINT'));
  }

  private fork(): void {
    const w = cluster.fork();
    this.alive.set(w.id, w);
    for (const [from, to] of [[w.process.stdout, process.stdout], [w.process.stderr, process.stderr]] as const) {
      if (!from) continue;
      const relay = relayLines(from, to);
      this.relaying.add(relay);
      void relay.then(() => this.relaying.delete(relay));
    }
    this.o.log.info('worker started', { worker: w.id, pid: w.process.pid });
  }

  private workers(): Worker[] {
    return [...this.alive.values()];
  }

  private readonly onListening = (w: Worker, address: AddressInfo | { port?: number }): void => {
    this.listening.add(w.id);
    this.o.log.info('worker listening', { worker: w.id, pid: w.process.pid });
    if (!this.everListened && this.listening.size === this.o.workers) {
      this.everListened = true;
      this.o.log.info('koogate listening', { port: address.port, workers: this.o.workers, ...this.o.describe });
    }
  };

  private readonly onExit = (w: Worker, code: number | null, signal: string | null): void => {
    this.alive.delete(w.id);
    this.listening.delete(w.id);
    if (this.stopping) {
      if (code !== 0) this.failed = true;
      if (this.workers().length === 0) this.exited(this.failed ? 1 : 0);
      return;
    }
    if (!this.everListened) {
      // A worker that cannot start (the store unreachable, the port taken) would fail again at once.
      this.o.log.error('worker failed to start; stopping', { worker: w.id, pid: w.process.pid, code, signal });
      return this.stop('worker failed to start', true);
    }
    const now = Date.now();
    this.deaths.push(now);
    while (this.deaths[0]! < now - DEATH_WINDOW_MS) this.deaths.shift();
    const delayMs = this.deaths.length <= 1 ? 0 : Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (this.deaths.length - 2));
    this.o.log.warn('worker died; starting another', { worker: w.id, pid: w.process.pid, code, signal, delayMs });
    // Not unref'd: with every worker dead and waiting for its restart, this timer is what keeps the
    // process alive; unref'd, the event loop would run empty and the process end with 0.
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delayMs);
  };

  private exited(code: number): void {
    void Promise.all([...this.relaying]).then(() => this.finished(code));
  }

  /** Relays the stop to every worker (each drains), then ends the process once all have exited; `failed`: exit 1 in any case. */
  stop(reason: string, failed = false): void {
    if (failed) this.failed = true;
    if (this.stopping) return;
    this.stopping = true;
    this.o.log.info('shutting down', { signal: reason, workers: this.workers().length });
    const left = this.workers();
    if (left.length === 0) return this.exited(this.failed ? 1 : 0);
    for (const w of left) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of this.workers()) {
        this.o.log.error('worker did not stop in time; killing it', { worker: w.id, pid: w.process.pid });
        w.process.kill('SIGKILL');
      }
    }, this.o.stopDeadlineMs).unref();
  }

  private readonly onMessage = (w: Worker, m: unknown): void => {
    if (!isClusterMessage(m)) return;
    if (m.koogate === 'probe-answer') return this.probes.answer(m.id, m);
    if (m.koogate === 'metrics-answer') return this.scrapes.answer(m.id, m);
    if (m.koogate === 'status') void this.status(m).then((answer) => send(w, answer));
  };

  private async status(req: StatusRequest): Promise<ToWorker> {
    const workers: WorkerCounts = { expected: this.o.workers, running: this.listening.size };
    if (req.probe === 'live') return { koogate: 'status-answer', id: req.id, workers };
    const running = this.workers().filter((w) => this.listening.has(w.id));
    const answers = await Promise.all(running.map((w) => this.probe(w)));
    const failing = answers.find((a) => !a?.ready);
    return {
      koogate: 'status-answer',
      id: req.id,
      workers: { ...workers, running: running.length, ready: answers.filter((a) => a?.ready).length },
      reason: failing ? (failing.reason ?? 'store unreachable') : running.length === 0 ? 'no worker running' : undefined,
    };
  }

  /** One worker's own readiness; a worker that does not answer in time is not ready. */
  private async probe(w: Worker): Promise<ReadinessAnswer> {
    const a = await this.probes.ask(this.probeTimeoutMs, (id) => send(w, { koogate: 'probe', id }));
    return a ?? { koogate: 'probe-answer', id: 0, ready: false, reason: `worker ${w.id} not answering` };
  }

  readonly contentType = METRICS_CONTENT_TYPE;

  /**
   * Every listening worker's series, summed as one process (counters and histograms added, shared gauges
   * their largest value), plus koogate_workers_scraped. A worker that does not answer in time is left
   * out of this scrape and logged, rather than failing it: its counters come back with it.
   */
  async scrape(): Promise<string> {
    const running = this.workers().filter((w) => this.listening.has(w.id));
    const answers = await Promise.all(running.map((w) => this.metricsOf(w)));
    const snapshots: unknown[][] = [];
    answers.forEach((a, i) => {
      if (a?.metrics) return void snapshots.push(a.metrics);
      const w = running[i]!;
      this.o.log.warn('worker left out of a metrics scrape', { worker: w.id, pid: w.process.pid, reason: a?.error ?? 'not answering' });
    });
    const scraped = {
      name: 'koogate_workers_scraped',
      help: 'Workers whose series this scrape sums (with KOOGATE_WORKERS > 1): fewer than KOOGATE_WORKERS while one is being replaced or did not answer.',
      type: 'gauge',
      aggregator: 'sum',
      values: [{ value: snapshots.length, labels: {} }],
    };
    return aggregateScrapes([...snapshots, [scraped]]);
  }

  private metricsOf(w: Worker): Promise<MetricsAnswer | undefined> {
    return this.scrapes.ask(this.metricsTimeoutMs, (id) => send(w, { koogate: 'metrics', id }));
  }
}

function send(w: Worker, m: ToWorker): boolean {
  if (!w.isConnected()) return false;
  w.send(m, (err: Error | null) => {
    if (err) {
      /* the worker is going away; its exit is handled where it happens */
    }
  });
  return true;
}
