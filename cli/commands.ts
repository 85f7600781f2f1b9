/**
 * The one-shot commands: inspect, acquire, extend, release, break.
 *
 * @module
 */
import { callWithRetries } from "../src/backend-call.js";
import { InvalidArgumentError } from "../src/errors.js";
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
  const options = {
    ttlMs: parsed.ttlMs ?? 60_000,
    ...(parsed.owner === undefined ? {} : { owner: parsed.owner }),
  };
  const waitMs = parsed.waitMs ?? 0;
  const lease =
    waitMs > 0
      ? await acquireOrNull(locker, parsed.key, { ...options, waitMs })
      : await locker.tryAcquire(parsed.key, options);
  if (!lease) {
    out.problem("held", `"${parsed.key}" is held by another process`, { key: parsed.key });
    return EXIT.held;
  }
  // The token is this command's output, asked for: it is what release and extend need.
  out.result(
    { key: parsed.key, fence: lease.fence, token: lease.token, ttlMs: lease.ttlMs, expiresAt: lease.expiresAt },
    `acquired "${parsed.key}": fence ${lease.fence}, ttl ${formatDuration(lease.ttlMs)}\ntoken ${lease.token}\nrelease with: edgelock release ${JSON.stringify(parsed.key)} --token ${lease.token}`,
  );
  return EXIT.ok;
}

async function acquireOrNull(locker: Locker, key: string, options: { ttlMs: number; waitMs: number }) {
  try {
    return await locker.acquire(key, options);
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
  const result = await call((signal) => adapter.extend({ key, token, ttlMs, signal }));
  if (!result.ok) return notHeld(out, parsed.key);
  out.result(
    { key: parsed.key, fence: result.fence, ttlMs: result.ttlMs, expiresAt: result.expiresAt },
    `extended "${parsed.key}": fence ${result.fence}, ttl ${formatDuration(result.ttlMs)}`,
  );
  return EXIT.ok;
}

export async function releaseCommand(ctx: Context, parsed: Parsed): Promise<number> {
  const { adapter, out } = ctx;
  const token = leaseToken(parsed);
  const key = backendKey(ctx, parsed.key);
  const result = await call((signal) => adapter.release({ key, token, signal }));
  if (!result.ok) return notHeld(out, parsed.key);
  out.result({ key: parsed.key, released: true }, `released "${parsed.key}"`);
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

function notHeld(out: Output, key: string): number {
  out.problem("not_held", `that token does not hold "${key}" (expired, released or broken)`, { key });
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
