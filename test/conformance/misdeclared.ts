import { expect } from "vitest";
import type { LockAdapter } from "../../src/types.js";
import { assertRequestCosts } from "./adapter-contract.js";
import { type ConformanceTarget, createSuite } from "./context.js";

/** `adapter` with `requestsPerOperation` replaced: what a wrong declaration looks like to the suite. */
export function misdeclared(
  adapter: LockAdapter,
  requestsPerOperation: LockAdapter["capabilities"]["requestsPerOperation"],
): LockAdapter {
  return {
    capabilities: { ...adapter.capabilities, requestsPerOperation },
    acquire: (request) => adapter.acquire(request),
    extend: (request) => adapter.extend(request),
    release: (request) => adapter.release(request),
    inspect: (key, options) => adapter.inspect(key, options),
  };
}

/**
 * Run the suite's request-count case against `target` and expect it to fail:
 * proof that the case checks the declaration rather than passing for any.
 */
export async function expectRequestCountCaseToFail(target: ConformanceTarget): Promise<void> {
  const suite = createSuite(target);
  await suite.setup();
  try {
    let failure: unknown;
    try {
      await assertRequestCosts(suite);
    } catch (error) {
      failure = error;
    }
    expect(failure, "the request-count case passed against a wrong declaration").toBeInstanceOf(Error);
    expect(String(failure)).toMatch(/acquire|extend|release|inspect/);
  } finally {
    await suite.teardown();
  }
}
