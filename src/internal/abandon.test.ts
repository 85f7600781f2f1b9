import { expect, test } from "vitest";
import { untilAborted } from "./abandon.js";

const stand = (reason: unknown) => new Error(`abandoned: ${String(reason)}`);

test("untilAborted: the promise's outcome while the signal holds, the abandoned error once it aborts", async () => {
  expect(await untilAborted(Promise.resolve(1), new AbortController().signal, stand)).toBe(1);
  await expect(untilAborted(Promise.reject(new Error("own")), new AbortController().signal, stand)).rejects.toThrow(
    "own",
  );
  expect(await untilAborted(Promise.resolve(2), undefined, stand)).toBe(2);

  const controller = new AbortController();
  let fail: (error: Error) => void = () => {};
  const never = new Promise<number>((_, reject) => {
    fail = reject;
  });
  const pending = untilAborted(never, controller.signal, stand);
  controller.abort("gave up");
  await expect(pending).rejects.toThrow("abandoned: gave up");
  // The abandoned promise failing later is observed, not an unhandled rejection.
  fail(new Error("late"));

  await expect(untilAborted(new Promise(() => {}), AbortSignal.abort("before"), stand)).rejects.toThrow(
    "abandoned: before",
  );
});
