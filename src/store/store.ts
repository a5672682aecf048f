/**
 * The one storage contract of koogate (directory, nonces, token records). Redis and memory implement it;
 * test/integration/store-conformance.test.ts runs the same suite against both.
 */
export type WriteOp =
  | { op: 'set'; key: string; value: string; ttlMs?: number }
  | { op: 'del'; key: string }
  | { op: 'sadd'; key: string; member: string }
  | { op: 'srem'; key: string; member: string }
  /** Sets a time to live on an existing key (sets, typically). */
  | { op: 'expire'; key: string; ttlMs: number };

export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when the key does not exist; true when it was set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Replaces the value only while it still equals `expected` (null: key absent); true when replaced. */
  compareAndSet(key: string, expected: string | null, next: string, ttlMs?: number): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  /** Extends the time to live only while the key still holds `value` (a lock's lease); true when extended. */
  expireIfEquals(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key only while it still holds `value` (releasing one's own lock); true when deleted. */
  delIfEquals(key: string, value: string): Promise<boolean>;
  sMembers(key: string): Promise<string[]>;
  /**
   * Applies every op together (Redis MULTI/EXEC; memory: synchronously), so no reader sees half of them
   * and a connection failure applies none. Ops must fit the keys' types: Redis does not roll back an op
   * that fails on a wrong type inside the transaction (the call then rejects), so callers never mix
   * types on one key.
   */
  atomic(ops: WriteOp[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
