import { afterAll, afterEach, beforeAll, describe } from "vitest";
import { adapterContract } from "./adapter-contract.js";
import { badInput } from "./bad-input.js";
import { contention } from "./contention.js";
import { type ConformanceTarget, createSuite } from "./context.js";
import { election } from "./election.js";
import { expiry } from "./expiry.js";
import { faults } from "./faults.js";
import { forceRelease } from "./force-release.js";
import { guardedValue } from "./guarded-value.js";
import { leases } from "./leases.js";
import { semaphores } from "./semaphore.js";

export type { ConformanceTarget, Wire } from "./context.js";

/**
 * The one conformance suite every adapter passes against its real backend.
 * Cases read the adapter's `capabilities` (TTL bounds, clock, push wake-ups)
 * and adapt to them; none is skipped.
 *
 * @example
 * ```ts
 * describeConformance({ name: "upstash", setup: startRedis, create: (wire) => upstashAdapter({ url, token, fetch: wire.fetch }) });
 * ```
 */
export function describeConformance(target: ConformanceTarget): void {
  describe(`conformance: ${target.name}`, () => {
    const suite = createSuite(target);
    beforeAll(() => suite.setup(), 120_000);
    afterAll(() => suite.teardown(), 60_000);
    afterEach(() => suite.resetFaults());

    describe("adapter contract", () => adapterContract(suite));
    describe("leases", () => leases(suite));
    describe("contention", () => contention(suite));
    describe("expiry", () => expiry(suite));
    describe("faults", () => faults(suite));
    describe("bad input", () => badInput(suite));
    describe("force release", () => forceRelease(suite));
    describe("guarded value", () => guardedValue(suite));
    describe("semaphores", () => semaphores(suite));
    describe("leader election", () => election(suite));
  });
}
