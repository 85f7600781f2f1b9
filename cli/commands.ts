/**
 * The one-shot commands: inspect, acquire, extend, release, break, and
 * their semaphore forms (`sem inspect`, `sem acquire`, …), which act on one
 * permit of the key instead of its lock.
 *
 * @module
 */
import { callWithRetries } from "../src/backend-call.js";
import { InvalidArgumentError } from "../src/errors.js";
import type { Lease } from "../src/lease.js";
import type { Locker } from "../src/locker.js";
import type { LockAdapter } from "../src/types.js";
import { MAX_DURATION_MS, validateDuration, validateKey } from "../src/validate.js";
import type { Parsed } from "./args.js";
import { formatDuration } from "./durations.js";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";

/** What the commands work with. */
export interface Context {
  readonly locker: Locker;
  readonly adapter: LockAdapter;
  readonly namespace: string;
  readonly out: Output;
}

const REQUEST_TIMEOUT_MS = 5_000;

export async function inspectCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  const state = await locker.inspect(parsed.key);
  if (!state.held) {
    out.result({ key: parsed.key, held: false }, `"${parsed.key}" is free`);
    return EXIT.ok;
  }
  const left = formatDuration(state.expiresAt - Date.now());
  const owner = state.owner === undefined ? "" : `, owner ${JSON.stringify(state.owner)}`;
  out.result(
    { key: parsed.key, ...state },
    `"${parsed.key}" is held: fence ${state.fence}, expires in ${left} (${new Date(state.expiresAt).toISOString()})${owner}`,
  );
  return EXIT.ok;
}

export async function acquireCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  const { key } = parsed;
  const options = {
    ttlMs: parsed.ttlMs ?? 60_000,
    ...(parsed.owner === undefined ? {} : { owner: parsed.owner }),
  };
  const permit = parsed.command === "sem acquire";
  const taker = permit
    ? locker.semaphore(key, { limit: parsed.limit ?? 1 })
    : {
        tryAcquire: (o: typeof options) => locker.tryAcquire(key, o),
        acquire: (o: typeof options & { waitMs: number }) => locker.acquire(key, o),
      };
  const waitMs = parsed.waitMs ?? 0;
  const lease = waitMs > 0 ? await acquireOrNull(taker, { ...options, waitMs }) : await taker.tryAcquire(options);
  if (!lease) {
    const taken = permit ? `all ${parsed.limit} permits of "${key}" are held` : `"${key}" is held by another process`;
    out.problem("held", taken, { key });
    return EXIT.held;
  }
  const what = permit ? `a permit of "${key}"` : `"${key}"`;
  const release = permit ? "sem release" : "release";
  // The token is this command's output, asked for: it is what release and extend need.
  out.result(
    { key, fence: lease.fence, token: lease.token, ttlMs: lease.ttlMs, expiresAt: lease.expiresAt },
    `acquired ${what}: fence ${lease.fence}, ttl ${formatDuration(lease.ttlMs)}\ntoken ${lease.token}\nrelease with: edgelock ${release} ${JSON.stringify(key)} --token ${lease.token}`,
  );
  return EXIT.ok;
}

async function acquireOrNull<O>(taker: { acquire(options: O): Promise<Lease> }, options: O) {
  try {
    return await taker.acquire(options);
  } catch (error) {
    if ((error as { code?: unknown }).code === "timeout") return null;
    throw error;
  }
}

export async function extendCommand(ctx: Context, parsed: Parsed): Promise<number> {
  const { adapter, out } = ctx;
  const token = leaseToken(parsed);
  const ttlMs = validateDuration(
    "--ttl",
    parsed.ttlMs ?? 60_000,
    1,
    Math.min(adapter.capabilities.ttl.maxMs, MAX_DURATION_MS),
  );
  const key = backendKey(ctx, parsed.key);
  const ops = leaseOps(ctx, parsed);
  const result = await call((signal) => ops.extend({ key, token, ttlMs, signal }));
  if (!result.ok) return notHeld(out, parsed);
  out.result(
    { key: parsed.key, fence: result.fence, ttlMs: result.ttlMs, expiresAt: result.expiresAt },
    `extended ${leaseName(parsed)}: fence ${result.fence}, ttl ${formatDuration(result.ttlMs)}`,
  );
  return EXIT.ok;
}

export async function releaseCommand(ctx: Context, parsed: Parsed): Promise<number> {
  const { out } = ctx;
  const token = leaseToken(parsed);
  const key = backendKey(ctx, parsed.key);
  const ops = leaseOps(ctx, parsed);
  const result = await call((signal) => ops.release({ key, token, signal }));
  if (!result.ok) return notHeld(out, parsed);
  out.result({ key: parsed.key, released: true }, `released ${leaseName(parsed)}`);
  return EXIT.ok;
}

export async function breakCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  const result = await locker.forceRelease(parsed.key, parsed.fence === undefined ? {} : { fence: parsed.fence });
  if (!result.released) {
    const under = parsed.fence === undefined ? "" : ` under fence ${parsed.fence}`;
    out.result({ key: parsed.key, released: false }, `"${parsed.key}" was not held${under}: nothing to break`);
    return EXIT.notHeld;
  }
  out.result(
    { key: parsed.key, released: true, fence: result.fence },
    `broke the lock on "${parsed.key}" (fence ${result.fence}); its holder's extend and release now fail`,
  );
  return EXIT.ok;
}

/** The live permits of a semaphore key, without their tokens. */
export async function semaphoreInspectCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  const { key } = parsed;
  // Inspecting reads the live permits whatever limit the handle carries.
  const state = await locker.semaphore(key, { limit: parsed.limit ?? 1 }).inspect();
  const limit = state.limit ?? parsed.limit;
  const now = Date.now();
  const lines = state.permits.map(
    (p) =>
      `  fence ${p.fence}, expires in ${formatDuration(p.expiresAt - now)}${p.owner === undefined ? "" : `, owner ${JSON.stringify(p.owner)}`}`,
  );
  const of = limit === undefined ? "" : ` of ${limit}`;
  const mismatch =
    parsed.limit !== undefined && state.limit !== null && state.limit !== parsed.limit
      ? ` (the live permits use limit ${state.limit}, not ${parsed.limit})`
      : "";
  const count = state.permits.length;
  out.result(
    { key, limit: state.limit, permits: state.permits, ...(limit === undefined ? {} : { free: limit - count }) },
    [`"${key}": ${count}${of} permit${count === 1 && of === "" ? "" : "s"} held${mismatch}`, ...lines].join("\n"),
  );
  return EXIT.ok;
}

/** extend/release act on the key's lock, or with `sem` on the token's permit. */
function leaseOps(ctx: Context, parsed: Parsed): Pick<LockAdapter, "extend" | "release"> {
  if (!parsed.command.startsWith("sem ")) return ctx.adapter;
  const ops = ctx.adapter.semaphores;
  if (!ops) throw new InvalidArgumentError(`the ${ctx.adapter.capabilities.name} adapter has no semaphores`);
  return ops;
}

function leaseName(parsed: Parsed): string {
  return parsed.command.startsWith("sem ") ? `a permit of "${parsed.key}"` : `"${parsed.key}"`;
}

function notHeld(out: Output, parsed: Parsed): number {
  out.problem("not_held", `that token does not hold ${leaseName(parsed)} (expired, released or broken)`, {
    key: parsed.key,
  });
  return EXIT.notHeld;
}

function leaseToken(parsed: Parsed): string {
  const token = parsed.leaseToken ?? "";
  if (!/^[\x21-\x7e]{1,128}$/.test(token)) {
    throw new InvalidArgumentError("--token must be the lease token acquire printed");
  }
  return token;
}

function backendKey(ctx: Context, key: string): string {
  return ctx.namespace + validateKey(key);
}

/** One adapter call with the lock client's time limit and retries (the token makes retries safe). */
function call<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return callWithRetries((attempt) => operation(attempt.signal), {
    attemptMs: REQUEST_TIMEOUT_MS,
    retries: 2,
    endsAt: Number.POSITIVE_INFINITY,
  });
}
