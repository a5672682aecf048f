/**
 * What the primary and its workers tell each other over the cluster's IPC channel. Every message carries
 * `koogate` (its kind) so that nothing else sent on the channel is mistaken for one.
 */

/** How many workers there should be, how many listen now, and (for readiness) how many can serve. */
export interface WorkerCounts {
  expected: number;
  running: number;
  ready?: number;
}

/** A worker asks the primary about the whole process, for healthz (`live`) or readyz (`ready`). */
export interface StatusRequest {
  koogate: 'status';
  id: number;
  probe: 'live' | 'ready';
}

export interface StatusAnswer {
  koogate: 'status-answer';
  id: number;
  workers: WorkerCounts;
  /** With `ready`: why a worker cannot serve (the first one that said so). */
  reason?: string;
}

/** The primary asks one worker whether it can serve (its own store connection). */
export interface ReadinessProbe {
  koogate: 'probe';
  id: number;
}

export interface ReadinessAnswer {
  koogate: 'probe-answer';
  id: number;
  ready: boolean;
  reason?: string;
}

/** The primary asks one worker for its metrics, for a scrape of the one metrics listener. */
export interface MetricsRequest {
  koogate: 'metrics';
  id: number;
}

export interface MetricsAnswer {
  koogate: 'metrics-answer';
  id: number;
  /** The worker's series as prom-client's `getMetricsAsJSON()` gives them. */
  metrics?: unknown[];
  /** Why the worker could not collect them. */
  error?: string;
}

export type ToPrimary = StatusRequest | ReadinessAnswer | MetricsAnswer;
export type ToWorker = StatusAnswer | ReadinessProbe | MetricsRequest;

const KINDS = new Set(['status', 'status-answer', 'probe', 'probe-answer', 'metrics', 'metrics-answer']);

export function isClusterMessage(m: unknown): m is ToPrimary | ToWorker {
  return typeof m === 'object' && m !== null && KINDS.has((m as { koogate?: unknown }).koogate as string) && typeof (m as { id?: unknown }).id === 'number';
}
