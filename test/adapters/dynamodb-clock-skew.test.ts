import { describe, expect, test } from "vitest";
import { createLocker, newToken } from "../../src/index.js";
import { MARGIN_MS, useDynamoDBLocal } from "./dynamodb-fixture.js";

// The clock skew margin: the adapter judges expiry by the caller's clock, so a
// key stays held for others until expiry + margin.

const { adapter } = useDynamoDBLocal();

describe("dynamodb adapter", () => {
  test("the skew margin: held for others until expiry + margin, inspect agrees with acquire", async () => {
    const holder = adapter();
    const key = `margin-${newToken()}`;
    const grant = await holder.acquire({ key, token: "h", ttlMs: 1_000 });
    if (!grant.ok) throw new Error("expected a grant");
    // Contenders whose clocks already read a moment after the stated expiry.
    const inMargin = adapter({ now: () => grant.expiresAt + MARGIN_MS / 2 });
    expect(await inMargin.inspect(key)).toMatchObject({ held: true, fence: grant.fence });
    const refusal = await inMargin.acquire({ key, token: "c1", ttlMs: 1_000 });
    expect(refusal).toMatchObject({ ok: false, reason: "held" });
    if (!refusal.ok) expect(refusal.retryAfterMs).toBeLessThanOrEqual(MARGIN_MS / 2);
    // The holder itself can no longer extend once its own clock passes expiry...
    expect(await inMargin.extend({ key, token: "h", ttlMs: 1_000 })).toEqual({ ok: false, reason: "not_held" });
    // ...but can still release, freeing the key before the margin runs out.
    const pastMargin = adapter({ now: () => grant.expiresAt + MARGIN_MS + 1 });
    expect(await pastMargin.inspect(key)).toEqual({ held: false });
    const taken = await pastMargin.acquire({ key, token: "c2", ttlMs: 1_000 });
    if (!taken.ok) throw new Error("expected the key free after expiry + margin");
    expect(taken.fence).toBeGreaterThan(grant.fence);
    expect(await holder.release({ key, token: "h" })).toEqual({ ok: false, reason: "not_held" });
  });

  test("an overrunning holder's release frees the key at once instead of after the margin", async () => {
    const a = adapter();
    const key = `overrun-${newToken()}`;
    const grant = await a.acquire({ key, token: "h", ttlMs: 1_000 });
    if (!grant.ok) throw new Error("expected a grant");
    const late = adapter({ now: () => grant.expiresAt + MARGIN_MS / 2 });
    expect(await late.release({ key, token: "h" })).toEqual({ ok: true });
    expect(await late.inspect(key)).toEqual({ held: false });
  });

  test("at the holder's local deadline, a contender whose clock runs ahead is still refused", async () => {
    // The lock client ends the lease a margin before expiry and contenders
    // wait a margin after it: together they absorb a lead of up to twice the
    // margin. A lead just under that is refused only if both sides apply it.
    const key = `skew-${newToken()}`;
    const holder = createLocker({ adapter: adapter() });
    // The holder's own release must land before its local deadline (on a loaded machine too): a TTL with room.
    // The contender's clock is set from the lease's expiry, so the TTL's length changes nothing else.
    const lease = await holder.tryAcquire(key, { ttlMs: 10_000 });
    if (!lease) throw new Error("expected a lease");
    const ahead = createLocker({ adapter: adapter({ now: () => lease.expiresAt + 2 * MARGIN_MS - 50 }) });
    expect(await ahead.inspect(key)).toMatchObject({ held: true, fence: lease.fence });
    expect(await ahead.tryAcquire(key, { ttlMs: 1_000 })).toBeNull();
    await lease.release();
    expect(await ahead.tryAcquire(key, { ttlMs: 1_000 })).not.toBeNull();
  });
});
