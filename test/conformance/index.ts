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

/** The suite's sections, in the order they run. */
const SECTIONS = {
  "adapter contract": adapterContract,
  leases,
  contention,
  expiry,
  faults,
  "bad input": badInput,
  "force release": forceRelease,
  "guarded value": guardedValue,
  semaphores,
  "leader election": election,
} as const;

export type ConformanceSection = keyof typeof SECTIONS;

/** The lock itself: one half of the suite. */
export const LOCK_SECTIONS: readonly ConformanceSection[] = [
  "adapter contract",
  "leases",
  "contention",
  "expiry",
  "faults",
  "bad input",
  "force release",
];

/**
 * What is built on the lock: the other half. A backend whose floor TTL
 * makes its run the longest test file (Azure's 15 s leases) registers the
 * halves in two files, which then run in parallel; together they are the
 * whole suite, so nothing is left out.
 */
export const COORDINATION_SECTIONS: readonly ConformanceSection[] = (
  Object.keys(SECTIONS) as ConformanceSection[]
).filter((section) => !LOCK_SECTIONS.includes(section));

/**
 * The one conformance suite every adapter passes against its real backend.
 * Cases read the adapter's `capabilities` (TTL bounds, clock, push wake-ups)
 * and adapt to them; none is skipped. `sections` runs part of it: one of the
 * two halves above, the other half in another file.
 *
 * @example
 * ```ts
 * describeConformance({ name: "upstash", setup: startRedis, create: (wire) => upstashAdapter({ url, token, fetch: wire.fetch }) });
 * ```
 */
export function describeConformance(
  target: ConformanceTarget,
  sections: readonly ConformanceSection[] = Object.keys(SECTIONS) as ConformanceSection[],
): void {
  const whole = sections.length === Object.keys(SECTIONS).length;
  const half = sections === LOCK_SECTIONS ? " (locks)" : sections === COORDINATION_SECTIONS ? " (coordination)" : "";
  if (!whole && !half) throw new Error("run the whole suite or one of its two halves");
  describe(`conformance: ${target.name}${half}`, () => {
    const suite = createSuite(target);
    beforeAll(() => suite.setup(), 120_000);
    afterAll(() => suite.teardown(), 60_000);
    afterEach(() => suite.resetFaults());

    for (const section of sections) describe(section, () => SECTIONS[section](suite));
  });
}
