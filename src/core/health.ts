/** One probe's answer: the HTTP status follows `ok` (200 or 503), `body` is the JSON sent. */
export interface HealthAnswer {
  ok: boolean;
  body: Record<string, unknown>;
}

/** What /_koogate/healthz (the process is up) and /_koogate/readyz (it can serve) answer. */
export interface Health {
  live(): Promise<HealthAnswer>;
  ready(): Promise<HealthAnswer>;
}
