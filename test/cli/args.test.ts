import { describe, expect, test } from "vitest";
import { parseCommandLine } from "../../cli/args.js";
import { InvalidArgumentError } from "../../src/index.js";

describe("the command line's options", () => {
  test("an owner token that starts with a dash (one in 64 do) is taken as --token's value", () => {
    for (const token of ["-AbCdEfGhIjKlMnOpQrStU", "--bCdEfGhIjKlMnOpQrStU"]) {
      const parsed = parseCommandLine(["extend", "job", "--token", token, "--ttl", "45s"]);
      expect(parsed).toMatchObject({ command: "extend", key: "job", leaseToken: token, ttlMs: 45_000 });
      expect(parseCommandLine(["release", "job", "--token", token]).leaseToken).toBe(token);
    }
  });

  test("a value missing before another option is still refused, with a typed error", () => {
    expect(() => parseCommandLine(["extend", "job", "--token", "--json"])).toThrow(InvalidArgumentError);
    expect(() => parseCommandLine(["extend", "job", "--token", "-h"])).toThrow(InvalidArgumentError);
  });
});
