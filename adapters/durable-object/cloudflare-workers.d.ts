/**
 * The slice of `cloudflare:workers` that {@link LockDurableObject} uses, so the
 * project type-checks under Node's types without pulling the Workers globals
 * (which clash with the DOM lib). Projects that load
 * `@cloudflare/workers-types` get the full declarations instead.
 */
declare module "cloudflare:workers" {
  /** Synchronous key-value storage of a SQLite-backed object. */
  export interface SyncKvStorage {
    get<T = unknown>(key: string): T | undefined;
    list<T = unknown>(options?: { prefix?: string; limit?: number }): Iterable<[string, T]>;
    put<T>(key: string, value: T): void;
    delete(key: string): boolean;
  }

  export interface DurableObjectStorage {
    readonly kv: SyncKvStorage;
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number | Date): Promise<void>;
    deleteAlarm(): Promise<void>;
  }

  export interface DurableObjectState {
    readonly storage: DurableObjectStorage;
    blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
    abort(reason?: string): void;
  }

  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
    alarm?(): void | Promise<void>;
    fetch?(request: Request): Response | Promise<Response>;
  }
}
