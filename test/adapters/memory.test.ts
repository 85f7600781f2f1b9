import { describe, test } from "vitest";
import { memoryAdapter } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import { expectRequestCountCaseToFail, misdeclared } from "../conformance/misdeclared.js";

// One store for every instance the suite builds: memory has no client side to
// keep apart, so "separate instances" differ in their wires (faults), not state.
const store = memoryAdapter();

describeConformance({ name: "memory", sendsRetryAfter: true, create: (wire) => wire.inProcess(store) });

describe("memory: the request count is checked, not assumed", () => {
  test("declaring one request per operation (memory sends none) fails the suite's request-count case", () =>
    expectRequestCountCaseToFail({
      name: "memory declaring 1",
      create: (wire) => wire.inProcess(misdeclared(memoryAdapter(), { acquire: 1, extend: 1, release: 1, inspect: 1 })),
    }));
});
