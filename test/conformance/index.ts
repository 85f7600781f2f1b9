import { afterAll, afterEach, beforeAll, describe } from "vitest";
import { adapterContract } from "./adapter-contract.js";
import { badInput } from "./bad-input.js";
import { contention } from "./contention.js";
import { type ConformanceTarget, createSuite } from "./context.js";
import { election } from "./election.js";
import { expiry } from "./expiry.js";
import { faults } from "./faults.js";
import { leases } from "./leases.js";
import { semaphores } from "./semaphore.js";

export type { ConformanceTarget } from "./context.js";

/**
 * The one conformance suite every adapter passes against its real backend.
 * Cases read the adapter's `capabilities` (TTL bounds, clock, push wake-ups)
 * and adapt to them; none is skipped.
 *
 * @example
 * ```ts
 * describeConformance({ name: "memory", transport: "adapter", create: () => memoryAdapter() });
 * ```
 */
export function describeConformance(target: ConformanceTarget): void {
  describe(`conformance: ${target.name}`, () => {
    const suite = createSuite(target);
    beforeAll(() => suite.setup(), 120_000);
    afterAll(() => suite.teardown(), 60_000);
    afterEach(() => suite.transport.reset());

    describe("adapter contract", () => adapterContract(suite));
    describe("leases", () => leases(suite));
    describe("contention", () => contention(suite));
    describe("expiry", () => expiry(suite));
    describe("faults", () => faults(suite));
    describe("bad input", () => badInput(suite));
    describe("semaphores", () => semaphores(suite));
    describe("leader election", () => election(suite));
  });
}
