import { expect, test } from "vitest";
import { percentile } from "./timing.js";

test("percentile: nearest rank, the rule bench/ reports by", () => {
  const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  expect(percentile(samples, 50)).toBe(5);
  expect(percentile(samples, 95)).toBe(10);
  expect(percentile(samples, 10)).toBe(1);
  expect(percentile(samples, 11)).toBe(2);
  expect(percentile(samples, 100)).toBe(10);
  expect(percentile([7], 1)).toBe(7);
  expect(percentile([], 50)).toBeNaN();
  expect(samples[0]).toBe(5); // not sorted in place
});
