/**
 * Questions sent over the cluster's IPC channel and the answers they wait for, matched by id: each is
 * waited for at most its timeout, and one that cannot be sent, or gets no answer in time, resolves
 * undefined. The primary's readiness probes and metrics scrapes, and a worker's status questions, all
 * wait this way.
 */
export class PendingAnswers<A> {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: A | undefined) => void>();

  /** Sends the question `send` makes for a fresh id (false: it could not be sent) and waits for its answer. */
  ask(timeoutMs: number, send: (id: number) => boolean): Promise<A | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const done = (answer: A | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answer);
      };
      this.waiting.set(id, done);
      if (!send(id)) done(undefined);
    });
  }

  /** The answer to question `id` arrived (an unknown or late id changes nothing). */
  answer(id: number, answer: A): void {
    this.waiting.get(id)?.(answer);
  }

  /** Nobody will answer any more: every question still waiting resolves undefined now. */
  abandon(): void {
    for (const done of [...this.waiting.values()]) done(undefined);
  }
}
