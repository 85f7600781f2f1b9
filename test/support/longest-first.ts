import { readFileSync } from "node:fs";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Runs the files that register the conformance suite first, Azure's before
 * the others. On a fresh checkout vitest knows no durations and starts the
 * largest files first, and a conformance registration is a few lines long:
 * the longest files (minutes, on 15 s leases) started last and ran on alone
 * while the other workers sat idle. Within a rank, vitest's order holds
 * (its recorded durations when it has them).
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ranks = new Map<string, number>();
    const rank = (file: TestSpecification) => {
      let known = ranks.get(file.moduleId);
      if (known === undefined) {
        const conformance = readFileSync(file.moduleId, "utf8").includes("describeConformance(");
        known = !conformance ? 2 : file.moduleId.includes("azure-blob") ? 0 : 1;
        ranks.set(file.moduleId, known);
      }
      return known;
    };
    // Array.prototype.sort is stable: vitest's order stands within a rank.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
