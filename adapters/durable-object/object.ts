import { DurableObject } from "cloudflare:workers";
import { WaitQueue } from "../../src/internal/wait-queue.js";
import { MAX_DURATION_MS, utf8Length, validateDuration, validateOwner } from "../../src/validate.js";
import type {
  AcquireAnswer,
  AcquireCall,
  CancelAnswer,
  ExtendAnswer,
  ExtendCall,
  ForceReleaseCall,
  GrantAnswer,
  InspectAnswer,
  InvalidAnswer,
  LockObjectRpc,
  ReadValueAnswer,
  ReleaseAnswer,
  TokenCall,
  WriteValueAnswer,
  WriteValueCall,
} from "./protocol.js";
import { DURABLE_OBJECT_MAX_VALUE_BYTES, WAIT_URL } from "./protocol.js";
import {
  DURABLE_OBJECT_MAX_LIMIT,
  SEMAPHORE_WAIT_URL,
  type SemaphoreAcquireAnswer,
  type SemaphoreAcquireCall,
  type SemaphoreInspectAnswer,
  type SemaphoreObjectRpc,
} from "./semaphore-protocol.js";
import { SEMAPHORE_KEY, SemaphoreTable } from "./semaphore-table.js";

/** Storage key of the fence counter: written on every grant, never deleted. */
const FENCE_KEY = "fence";
/** Storage key of the guarded value: like the fence, kept when the lock is idle. */
const VALUE_KEY = "value";
/** Storage key of the current holder. */
const HOLDER_KEY = "holder";
/**
 * Most acquires one object queues. Beyond it an acquire is answered `held` at
 * once and the lock client polls instead: memory stays bounded.
 */
export const MAX_WAITERS = 1_000;
const MAX_TOKEN_LENGTH = 128;

interface StoredValue {
  readonly json?: string;
  readonly version: number;
  readonly fence: number;
  readonly writeId: string;
}

interface Holder {
  readonly token: string;
  readonly fence: number;
  readonly expiresAt: number;
  readonly owner?: string;
}

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
  readonly #queue = new WaitQueue<AcquireAnswer>();
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
    const { token, ttlMs, owner } = call;
    const waitMs = call.waitMs ?? 0;
    const now = Date.now();
    // A retry of a queued acquire (its first call lost) takes over the old
    // place: the old call's caller is gone or will ignore the answer.
    const previous = this.#queue.take(token);
    previous?.answer({ ok: false, reason: "cancelled" });
    const holder = this.#settle(now);
    let answer: AcquireAnswer;
    if (holder?.token === token) {
      // The holder's own retry: same fence, and the TTL counts from now so the
      // caller's deadline (from when it sent the retry) stays conservative.
      answer = this.#grant({ ...holder, expiresAt: now + ttlMs }, ttlMs);
    } else if (!holder) {
      answer = this.#grant(this.#newHolder(token, ttlMs, owner, now), ttlMs);
    } else if (waitMs > 0 && signal?.aborted) {
      // The caller gave up while the body was read: queueing it now would
      // hand the lock to a request nobody waits for (its abort event is past).
      answer = { ok: false, reason: "cancelled" };
    } else if (waitMs > 0 && this.#queue.size < MAX_WAITERS) {
      const queued = new Promise<AcquireAnswer>((answerWaiter) => {
        const waiter = { token, ttlMs, owner, queuedAt: now, deadline: now + waitMs, answer: answerWaiter };
        this.#queue.push(waiter, now, (t) => void this.#onDeadline(t));
        // The caller went away: leave the queue, so the lock is never handed
        // to a request nobody is waiting for.
        signal?.addEventListener("abort", () => {
          if (this.#queue.remove(waiter)) waiter.answer({ ok: false, reason: "cancelled" });
        });
      });
      // #settle may have dropped an expired holder and granted a waiter.
      await this.#syncAlarm();
      return queued;
    } else {
      answer = { ok: false, reason: "held", retryAfterMs: Math.max(1, holder.expiresAt - now) };
    }
    await this.#syncAlarm();
    return answer;
  }

  async extend(call: ExtendCall): Promise<ExtendAnswer> {
    const invalid = checkToken(call) ?? checkTtl(call.ttlMs);
    if (invalid) return invalid;
    const now = Date.now();
    const holder = this.#settle(now);
    let answer: ExtendAnswer = { ok: false, reason: "not_held" };
    if (holder?.token === call.token) answer = this.#grant({ ...holder, expiresAt: now + call.ttlMs }, call.ttlMs);
    await this.#syncAlarm();
    return answer;
  }

  async release(call: TokenCall): Promise<ReleaseAnswer> {
    const invalid = checkToken(call);
    if (invalid) return invalid;
    const now = Date.now();
    // A release also withdraws a queued acquire of the same token: the lock
    // client releases after it gave up on an acquire, and the waiter must not
    // be granted afterwards.
    this.#queue.take(call.token)?.answer({ ok: false, reason: "cancelled" });
    const holder = this.#settle(now);
    let answer: ReleaseAnswer = { ok: false, reason: "not_held" };
    if (holder?.token === call.token) {
      this.ctx.storage.kv.delete(HOLDER_KEY);
      this.#settle(now);
      answer = { ok: true };
    }
    await this.#syncAlarm();
    return answer;
  }

  /** Free the holder with `fence`, whatever its token (the fence counter stays); the next waiter is granted. */
  async forceRelease(call: ForceReleaseCall): Promise<ReleaseAnswer> {
    const fence = (call as { fence?: unknown } | null)?.fence;
    if (!Number.isSafeInteger(fence)) return invalidAnswer("fence must be a safe integer");
    const now = Date.now();
    const holder = this.#settle(now);
    let answer: ReleaseAnswer = { ok: false, reason: "not_held" };
    if (holder?.fence === fence) {
      this.ctx.storage.kv.delete(HOLDER_KEY);
      this.#settle(now);
      answer = { ok: true };
    }
    await this.#syncAlarm();
    return answer;
  }

  async inspect(): Promise<InspectAnswer> {
    const holder = this.#settle(Date.now());
    await this.#syncAlarm();
    const waiting = this.#queue.size;
    if (!holder) return { held: false, waiting };
    return { held: true, fence: holder.fence, expiresAt: holder.expiresAt, ...ownerOf(holder), waiting };
  }

  /** The guarded value: anyone may read it. */
  async readValue(): Promise<ReadValueAnswer> {
    const stored = this.ctx.storage.kv.get<StoredValue>(VALUE_KEY);
    if (!stored) return { version: 0, fence: 0 };
    return {
      version: stored.version,
      fence: stored.fence,
      ...(stored.json === undefined ? {} : { json: stored.json }),
    };
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
    const holder = this.#settle(Date.now());
    let answer: WriteValueAnswer;
    const version = stored?.version ?? 0;
    if (holder?.token !== call.token) answer = { ok: false, reason: "not_held" };
    else if (call.expectedVersion !== undefined && call.expectedVersion !== version) {
      answer = { ok: false, reason: "version_mismatch", version };
    } else {
      const next: StoredValue = {
        version: version + 1,
        fence: holder.fence,
        writeId: call.writeId,
        ...(call.json === null ? {} : { json: call.json }),
      };
      kv.put(VALUE_KEY, next);
      answer = { ok: true, version: next.version, fence: next.fence };
    }
    await this.#syncAlarm();
    return answer;
  }

  /** Withdraw a queued acquire of `token` (the caller gave up waiting). Never touches a holder. */
  async cancel(call: TokenCall): Promise<CancelAnswer> {
    const waiter = this.#queue.take(call.token);
    waiter?.answer({ ok: false, reason: "cancelled" });
    return { cancelled: waiter !== undefined || this.#permits.cancel(call.token) };
  }

  /** Frees an expired holder on time, hands the lock on, and clears an idle object's state. */
  override async alarm(): Promise<void> {
    // The alarm that runs is used up: whatever is due next must be set anew.
    this.#alarm = null;
    this.#settle(Date.now());
    this.#permits.settle(Date.now());
    await this.#syncAlarm();
  }

  /**
   * Bring the state up to `now`: drop an expired holder, and while the lock is
   * free hand it to the oldest waiter. Afterwards the lock is free only if
   * nobody is queued. Synchronous, so no other call interleaves.
   */
  #settle(now: number): Holder | undefined {
    const kv = this.ctx.storage.kv;
    let holder = kv.get<Holder>(HOLDER_KEY);
    if (holder && holder.expiresAt <= now) {
      kv.delete(HOLDER_KEY);
      holder = undefined;
    }
    while (!holder) {
      const waiter = this.#queue.shift();
      if (!waiter) break;
      holder = this.#newHolder(waiter.token, waiter.ttlMs, waiter.owner, now);
      waiter.answer({ ...this.#grant(holder, waiter.ttlMs), waitedMs: now - waiter.queuedAt });
    }
    if (!holder) this.#clearIdle();
    return holder;
  }

  #newHolder(token: string, ttlMs: number, owner: string | undefined, now: number): Holder {
    const fence = (this.ctx.storage.kv.get<number>(FENCE_KEY) ?? 0) + 1;
    return { token, fence, expiresAt: now + ttlMs, ...(owner === undefined ? {} : { owner }) };
  }

  #grant(holder: Holder, ttlMs: number): GrantAnswer {
    const kv = this.ctx.storage.kv;
    // Both writes land in one implicit transaction: no await in between.
    kv.put(FENCE_KEY, holder.fence);
    kv.put(HOLDER_KEY, holder);
    return { ok: true, fence: holder.fence, ttlMs, expiresAt: holder.expiresAt };
  }

  /** Delete everything but the fence counter and the guarded value, which outlive the lock. */
  #clearIdle(): void {
    const kv = this.ctx.storage.kv;
    // Semaphore state (`sem…`) is the semaphore table's to clear.
    for (const [key] of kv.list()) {
      if (key !== FENCE_KEY && key !== VALUE_KEY && !key.startsWith(SEMAPHORE_KEY)) kv.delete(key);
    }
  }

  async #onDeadline(token: string): Promise<void> {
    const now = Date.now();
    // The holder may have expired at this very moment: settle first, so the
    // waiter is granted rather than refused if the lock is free.
    const holder = this.#settle(now);
    const waiter = this.#queue.take(token);
    if (waiter) {
      const retryAfterMs = holder ? Math.max(1, holder.expiresAt - now) : 1;
      waiter.answer({ ok: false, reason: "held", retryAfterMs });
    }
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
    const holder = this.ctx.storage.kv.get<Holder>(HOLDER_KEY);
    const due = holder?.expiresAt ?? this.#permits.nextExpiry();
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

function invalidAnswer(error: unknown): InvalidAnswer {
  return { ok: false, reason: "invalid_argument", message: error instanceof Error ? error.message : String(error) };
}

function checkToken(call: unknown): InvalidAnswer | undefined {
  const token = (call as { token?: unknown } | null)?.token;
  if (typeof token === "string" && token.length > 0 && token.length <= MAX_TOKEN_LENGTH) return undefined;
  return invalidAnswer(`token must be a string of 1 to ${MAX_TOKEN_LENGTH} characters`);
}

function checkTtl(ttlMs: unknown): InvalidAnswer | undefined {
  try {
    validateDuration("ttlMs", ttlMs, 1, MAX_DURATION_MS);
    return undefined;
  } catch (error) {
    return invalidAnswer(error);
  }
}

function checkWrite(call: WriteValueCall): InvalidAnswer | undefined {
  const { json, writeId, expectedVersion } = call;
  if (typeof writeId !== "string" || writeId.length === 0 || writeId.length > MAX_TOKEN_LENGTH) {
    return invalidAnswer(`writeId must be a string of 1 to ${MAX_TOKEN_LENGTH} characters`);
  }
  if (json !== null && (typeof json !== "string" || utf8Length(json) > DURABLE_OBJECT_MAX_VALUE_BYTES)) {
    return invalidAnswer(`json must be null or a string of at most ${DURABLE_OBJECT_MAX_VALUE_BYTES} bytes`);
  }
  if (expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)) {
    return invalidAnswer("expectedVersion must be a non-negative safe integer");
  }
  return undefined;
}

function checkLimit(limit: unknown): InvalidAnswer | undefined {
  if (typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 1 && limit <= DURABLE_OBJECT_MAX_LIMIT) {
    return undefined;
  }
  return invalidAnswer(`limit must be an integer from 1 to ${DURABLE_OBJECT_MAX_LIMIT}`);
}

function checkAcquire(call: AcquireCall): InvalidAnswer | undefined {
  const invalid = checkToken(call) ?? checkTtl(call.ttlMs);
  if (invalid) return invalid;
  try {
    validateDuration("waitMs", call.waitMs ?? 0, 0, MAX_DURATION_MS);
    validateOwner(call.owner);
    return undefined;
  } catch (error) {
    return invalidAnswer(error);
  }
}
