/**
 * Starts each backend the tests use (through the test harness helpers) and
 * builds the drivers that run against it: edgelock's adapter and, where
 * one exists, the peer library on the very same backend.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { memoryAdapter } from "../src/index.js";
import { edgelockDriver, type LockDriver } from "./driver.js";
import { Meter } from "./measure.js";

export interface Backend {
  /** Short name, matched by `BENCH_ONLY`. */
  readonly name: string;
  /** Repository files the backend needs; any missing one skips it (loudly). */
  readonly needs: readonly string[];
  /** Start the backend; the drivers to run and how to stop it. */
  start(): Promise<Started>;
}

export interface Started {
  readonly drivers: LockDriver[];
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname, "..");

/** The files of `backend` that do not exist (yet). */
export function missingFiles(backend: Backend): string[] {
  return backend.needs.filter((file) => !existsSync(resolve(root, file)));
}

/**
 * Import a module of another engineer's by path, typed by the shape the
 * bench relies on. Dynamic so that the bench still runs, and says what is
 * missing, while their files do not exist yet.
 */
export async function load<T>(file: string): Promise<T> {
  return (await import(resolve(root, file))) as T;
}

export const memory: Backend = {
  name: "memory",
  needs: [],
  async start() {
    const meter = new Meter();
    const driver = edgelockDriver({
      name: "edgelock memory",
      backend: "in-process",
      counting: "in-process",
      meter,
      adapter: memoryAdapter(),
    });
    return { drivers: [driver], stop: async () => {} };
  },
};
