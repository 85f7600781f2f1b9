/**
 * The slice of `cloudflare:test` (from @cloudflare/vitest-pool-workers) these
 * tests use, so that the project's Node-typed `tsc` run checks them without
 * the Workers globals.
 */
declare module "cloudflare:test" {
  import type { DurableObjectState } from "cloudflare:workers";
  import type { LockObjectNamespace } from "../../adapters/durable-object/index.js";

  export const env: { readonly LOCKS: LockObjectNamespace };
  export function runInDurableObject<O, R>(
    stub: unknown,
    callback: (instance: O, state: DurableObjectState) => R | Promise<R>,
  ): Promise<R>;
  export function runDurableObjectAlarm(stub: unknown): Promise<boolean>;
}
