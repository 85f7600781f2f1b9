import { DurableObject } from "cloudflare:workers";
import { readValue, type StoredValue, VALUE_KEY, writeValue } from "./guarded-value.js";
import { type Holder, LockTable } from "./lock-table.js";
import { checkAcquire, checkLimit, checkToken, checkTtl, checkWrite, invalidAnswer } from "./object-checks.js";
import type {
  AcquireAnswer,
  AcquireCall,
  CancelAnswer,
  ExtendAnswer,
  ExtendCall,
  ForceReleaseCall,
  InspectAnswer,
  LockObjectRpc,
  ReadValueAnswer,
  ReleaseAnswer,
  TokenCall,
  WriteValueAnswer,
  WriteValueCall,
} from "./protocol.js";
import { WAIT_URL } from "./protocol.js";
import {
  SEMAPHORE_WAIT_URL,
  type SemaphoreAcquireAnswer,
  type SemaphoreAcquireCall,
  type SemaphoreInspectAnswer,
  type SemaphoreObjectRpc,
} from "./semaphore-protocol.js";
import { SemaphoreTable } from "./semaphore-table.js";

/**
 * Most acquires one object queues. Beyond it an acquire is answered `held` at
 * once and the lock client polls instead: memory stays bounded.
 */
export const MAX_WAITERS = 1_000;

/**
 * One lock per object: bind it in your Worker and reach it with
 * `namespace.idFromName(key)` (the `durableObjectAdapter` does). Its storage
 * must be SQLite-backed (`new_sqlite_classes` in the migration).
 *
 * The object's single-threaded execution makes every call atomic, and its own
 * clock decides expiry: an alarm frees an expired holder on time and hands the
 * lock to the oldest queued acquire. Acquires with a wait are queued in FIFO
 * order and answered when the lock frees or their wait runs out.
 *
 * @example
 * ```ts
 * // worker.ts
 * export { LockDurableObject } from "edgelock/durable-object/object";
 * ```
 * ```toml
 * # wrangler.toml
 * [[durable_objects.bindings]]
 * name = "LOCKS"
 * class_name = "LockDurableObject"
 * [[migrations]]
 * tag = "v1"
 * new_sqlite_classes = ["LockDurableObject"]
 * ```
 */
export class LockDurableObject extends DurableObject implements LockObjectRpc, SemaphoreObjectRpc {
  readonly #lock = new LockTable(this.ctx.storage.kv, MAX_WAITERS);
  /** Used only by objects reached under a semaphore name (`semaphoreObjectName`). */
  readonly #permits = new SemaphoreTable(this.ctx.storage.kv, MAX_WAITERS);
  /** The alarm as this object last set it, epoch ms; `null`: none. Only this object sets its alarm. */
  #alarm: number | null = null;

  // The state's type is named through the base class: `cloudflare:workers` exports `DurableObjectState` in
  // some type packages and only declares it globally in others (@cloudflare/workers-types).
  constructor(...args: ConstructorParameters<typeof DurableObject>) {
    super(...args);
    const storage = this.ctx.storage;
    // Read once per start, before any call runs; afterwards the cached value is the truth.
    void this.ctx.blockConcurrencyWhile(async () => {
      this.#alarm = await storage.getAlarm();
    });
  }

  acquire(call: AcquireCall): Promise<AcquireAnswer> {
    return this.#acquire(call, undefined);
  }

  /** {@link WAIT_URL}: an acquire whose queued wait ends when the caller aborts or disconnects. */
  override async fetch(request: Request): Promise<Response> {
    const semaphore = request.url === SEMAPHORE_WAIT_URL;
    if (request.method !== "POST" || (request.url !== WAIT_URL && !semaphore)) {
      return new Response("Not Found", { status: 404 });
    }
    let call: AcquireCall;
    try {
      call = (await request.json()) as AcquireCall;
    } catch (error) {
      return Response.json(invalidAnswer(`body must be JSON: ${String(error)}`));
    }
    if (semaphore) return Response.json(await this.#semaphoreAcquire(call as SemaphoreAcquireCall, request.signal));
    return Response.json(await this.#acquire(call, request.signal));
  }

  semaphoreAcquire(call: SemaphoreAcquireCall): Promise<SemaphoreAcquireAnswer> {
    return this.#semaphoreAcquire(call, undefined);
  }

  async #semaphoreAcquire(
    call: SemaphoreAcquireCall,
    signal: AbortSignal | undefined,
  ): Promise<SemaphoreAcquireAnswer> {
    const invalid = checkAcquire(call) ?? checkLimit(call.limit);
    if (invalid) return invalid;
    const onDeadline = (token: string) => {
      this.#permits.deadline(token, Date.now());
      void this.#syncAlarm();
    };
    const answer = this.#permits.acquire(call, Date.now(), onDeadline, signal);
    await this.#syncAlarm();
    return answer;
  }

  async semaphoreExtend(call: ExtendCall): Promise<ExtendAnswer> {
    const invalid = checkToken(call) ?? checkTtl(call.ttlMs);
    if (invalid) return invalid;
    const answer = this.#permits.extend(call, Date.now());
    await this.#syncAlarm();
    return answer;
  }

  async semaphoreRelease(call: TokenCall): Promise<ReleaseAnswer> {
    const invalid = checkToken(call);
    if (invalid) return invalid;
    const answer = this.#permits.release(call, Date.now());
    await this.#syncAlarm();
    return answer;
  }

  async semaphoreInspect(): Promise<SemaphoreInspectAnswer> {
    const answer = this.#permits.inspect(Date.now());
    await this.#syncAlarm();
    return answer;
  }

  async #acquire(call: AcquireCall, signal: AbortSignal | undefined): Promise<AcquireAnswer> {
    const invalid = checkAcquire(call);
    if (invalid) return invalid;
    const answer = this.#lock.acquire(call, Date.now(), (t) => void this.#onDeadline(t), signal);
    // Also for a queued acquire: settling may have dropped an expired holder and granted a waiter.
    await this.#syncAlarm();
    return answer;
  }

  async extend(call: ExtendCall): Promise<ExtendAnswer> {
    const invalid = checkToken(call) ?? checkTtl(call.ttlMs);
    if (invalid) return invalid;
    const answer = this.#lock.extend(call, Date.now());
    await this.#syncAlarm();
    return answer;
  }

  async release(call: TokenCall): Promise<ReleaseAnswer> {
    const invalid = checkToken(call);
    if (invalid) return invalid;
    const answer = this.#lock.release(call, Date.now());
    await this.#syncAlarm();
    return answer;
  }

  /** Free the holder with `fence`, whatever its token (the fence counter stays); the next waiter is granted. */
  async forceRelease(call: ForceReleaseCall): Promise<ReleaseAnswer> {
    const fence = (call as { fence?: unknown } | null)?.fence;
    if (!Number.isSafeInteger(fence)) return invalidAnswer("fence must be a safe integer");
    const answer = this.#lock.forceRelease(fence as number, Date.now());
    await this.#syncAlarm();
    return answer;
  }

  async inspect(): Promise<InspectAnswer> {
    const holder = this.#lock.settle(Date.now());
    await this.#syncAlarm();
    const waiting = this.#lock.waiting;
    if (!holder) return { held: false, waiting };
    return { held: true, fence: holder.fence, expiresAt: holder.expiresAt, ...ownerOf(holder), waiting };
  }

  /** The guarded value: anyone may read it. */
  async readValue(): Promise<ReadValueAnswer> {
    return readValue(this.ctx.storage.kv);
  }

  /**
   * Write the guarded value if `token` holds the lock now. Synchronous from
   * the holder check to the put: no other call interleaves.
   */
  async writeValue(call: WriteValueCall): Promise<WriteValueAnswer> {
    const invalid = checkToken(call) ?? checkWrite(call);
    if (invalid) return invalid;
    const kv = this.ctx.storage.kv;
    const stored = kv.get<StoredValue>(VALUE_KEY);
    if (stored?.writeId === call.writeId) return { ok: true, version: stored.version, fence: stored.fence };
    const answer = writeValue(kv, call, stored, this.#lock.settle(Date.now()));
    await this.#syncAlarm();
    return answer;
  }

  /** Withdraw a queued acquire of `token` (the caller gave up waiting). Never touches a holder. */
  async cancel(call: TokenCall): Promise<CancelAnswer> {
    return { cancelled: this.#lock.cancel(call.token) || this.#permits.cancel(call.token) };
  }

  /** Frees an expired holder on time, hands the lock on, and clears an idle object's state. */
  override async alarm(): Promise<void> {
    // The alarm that runs is used up: whatever is due next must be set anew.
    this.#alarm = null;
    this.#lock.settle(Date.now());
    this.#permits.settle(Date.now());
    await this.#syncAlarm();
  }

  async #onDeadline(token: string): Promise<void> {
    this.#lock.deadline(token, Date.now());
    await this.#syncAlarm();
  }

  /**
   * Keep an alarm at or before the holder's (or the earliest permit's)
   * expiry. An alarm that is already earlier stays: it fires, settles and
   * sets the next one. So a grant, an extend or a hand-off to a waiter with
   * a later expiry writes no alarm at all, and one that must move it sets it
   * in the same turn as the holder's write (one commit, one output-gate
   * wait) instead of a read and a write after it.
   */
  #syncAlarm(): Promise<void> {
    const due = this.#lock.nextExpiry() ?? this.#permits.nextExpiry();
    if (due === undefined) {
      // Idle: the alarm goes too (a release that leaves nobody queued, never a hand-off).
      if (this.#alarm === null) return Promise.resolve();
      this.#alarm = null;
      return this.ctx.storage.deleteAlarm();
    }
    if (this.#alarm !== null && this.#alarm <= due) return Promise.resolve();
    this.#alarm = due;
    return this.ctx.storage.setAlarm(due);
  }
}

function ownerOf(holder: Holder): { owner?: string } {
  return holder.owner === undefined ? {} : { owner: holder.owner };
}
