import { describe, expect, test } from "vitest";
import { base64, base64url, fromBase64, hex } from "./encoding.js";

describe("encodings agree with the platform's", () => {
  test("base64, base64url and hex of every length up to 40, round trip included", () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      const reference = Buffer.from(bytes);
      expect(base64(bytes)).toBe(reference.toString("base64"));
      expect(base64url(bytes)).toBe(reference.toString("base64url"));
      expect(hex(bytes)).toBe(reference.toString("hex"));
      expect(Array.from(fromBase64(base64(bytes)))).toEqual(Array.from(bytes));
      expect(Array.from(fromBase64(base64url(bytes)))).toEqual(Array.from(bytes));
    }
  });

  test("long inputs (encoded in chunks) and a range of a buffer", () => {
    for (const length of [6_143, 6_144, 6_145, 20_000, 70_001]) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 151 + 7) & 255);
      expect(base64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
      expect(base64url(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
    }
    const pool = crypto.getRandomValues(new Uint8Array(64));
    for (const [start, end] of [
      [0, 16],
      [16, 32],
      [5, 6],
      [48, 64],
      [10, 10],
    ] as const) {
      expect(base64url(pool, start, end)).toBe(Buffer.from(pool.subarray(start, end)).toString("base64url"));
    }
  });
});

test("utf8Length counts as TextEncoder encodes, surrogates included", async () => {
  const { utf8Length } = await import("../validate.js");
  const samples = ["", "a", "é", "€", "🔒", "a🔒é€", "\ud800", "\udc00x", "x\ud800\ud800\udc00", "é".repeat(129)];
  for (const sample of samples)
    expect(utf8Length(sample), JSON.stringify(sample)).toBe(new TextEncoder().encode(sample).length);
});
