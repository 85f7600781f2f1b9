import { ExtendRequest } from "./adapter-requests.js";
import type { AttemptSignal } from "./backend-call.js";
import { InvalidArgumentError, LockLostError } from "./errors.js";
import { TOKEN_PATTERN } from "./internal/patterns.js";
import { redactToken } from "./internal/redact.js";
import { type LeaseContext, LeaseImpl } from "./lease-impl.js";
import type { LockerSettings } from "./locker-settings.js";
import type { ResumeOptions } from "./options.js";
import { abortError } from "./timing.js";
import { validateDuration, validateFlag, validateKey, validateSignal, validateTimeout } from "./validate.js";

/** What {@link resumeLease} needs of the locker. */
export interface ResumeContext extends LeaseContext {
  call<T>(operation: (attempt: AttemptSignal) => Promise<T>, signal?: AbortSignal, endsAt?: number): Promise<T>;
}

/**
 * Take a lease over by its owner token (another invocation acquired it):
 * one extend by the token, which proves the token still holds the key and
 * restarts the TTL; every argument is checked before it is sent.
 */
export async function resumeLease(
  ctx: ResumeContext,
  settings: LockerSettings,
  key: string,
  token: string,
  options: ResumeOptions,
): Promise<{ readonly lease: LeaseImpl; readonly autoExtend: boolean }> {
  validateKey(key);
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) {
    throw new InvalidArgumentError("token must be an owner token (22 characters of base64url) from a lease");
  }
  const ttlMs = validateDuration(
    "ttlMs",
    options.ttlMs === undefined ? settings.defaultTtlMs : options.ttlMs,
    1,
    settings.maxTtlMs,
  );
  const autoExtend = validateFlag("autoExtend", options.autoExtend) ?? false;
  const signal = validateSignal(options.signal);
  const endsAt = settings.endsAt(Date.now(), validateTimeout(options.timeoutMs));
  if (signal?.aborted) throw abortError(signal);
  const backendKey = settings.namespace + key;
  const sentAt = Date.now();
  const result = await ctx
    .call((attempt) => ctx.adapter.extend(new ExtendRequest(backendKey, token, ttlMs, attempt)), signal, endsAt)
    .catch((error: unknown) => {
      throw redactToken(error, token);
    });
  if (!result.ok) throw new LockLostError(key, `lock "${key}" is not held by this token; it cannot be resumed`);
  return { lease: new LeaseImpl(ctx, key, backendKey, token, result, sentAt, ttlMs), autoExtend };
}
