import { describe, expect, test } from "vitest";
import { BackendError, BackendRejectedError, InvalidArgumentError } from "../errors.js";
import { statusFailure } from "./http-failure.js";

// The one table every HTTP adapter (and etcd's gateway, PostgreSQL's HTTP endpoints) judges answers by.
describe("statusFailure", () => {
  const judge = (status: number, mutating: boolean, badRequest?: "rejected" | "invalid-argument") =>
    statusFailure(status, `call answered ${status}`, { mutating, ...(badRequest ? { badRequest } : {}) });

  test("401, 403, 400, 413 and other 4xx are rejected, never applied", () => {
    for (const status of [400, 401, 403, 404, 405, 409, 412, 413]) {
      const error = judge(status, true);
      expect(error, String(status)).toBeInstanceOf(BackendRejectedError);
      expect(error, String(status)).toMatchObject({ status, message: `call answered ${status}` });
    }
  });

  test("the edgelock service's 400 and 413 are the caller's InvalidArgumentError", () => {
    expect(judge(400, true, "invalid-argument")).toBeInstanceOf(InvalidArgumentError);
    expect(judge(413, false, "invalid-argument")).toBeInstanceOf(InvalidArgumentError);
    expect(judge(404, true, "invalid-argument")).toBeInstanceOf(BackendRejectedError);
  });

  test("408 and 5xx may have applied a mutating call only; 429 never applied", () => {
    for (const status of [408, 500, 502, 503, 504]) {
      expect(judge(status, true), String(status)).toMatchObject({ maybeApplied: true, retryable: true, status });
      expect(judge(status, false), String(status)).toMatchObject({ maybeApplied: false, retryable: true, status });
      expect(judge(status, true), String(status)).toBeInstanceOf(BackendError);
    }
    expect(judge(429, true)).toMatchObject({ maybeApplied: false, retryable: true, status: 429 });
  });

  test("a 2xx or 3xx the caller cannot read may have been applied and is not retried", () => {
    for (const status of [200, 204, 302]) {
      expect(judge(status, true), String(status)).toMatchObject({ maybeApplied: true, retryable: false, status });
      expect(judge(status, false), String(status)).toMatchObject({ maybeApplied: false, retryable: false });
    }
  });

  test("the cause is kept", () => {
    const cause = new Error("upstream");
    expect(statusFailure(502, "m", { mutating: true, cause }).cause).toBe(cause);
  });
});
