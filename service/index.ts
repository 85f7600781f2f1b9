/**
 * `edgelock/server`: the HTTP lock service as a Hono app, its options, the
 * environment it reads and the token syntax. The platform entries that
 * serve it are `edgelock/server/node`, `/lambda`, `/azure-functions` and
 * `/worker` (`service/platforms/`).
 *
 * @example
 * ```ts
 * import { memoryAdapter } from "edgelock";
 * import { createLockService } from "edgelock/server";
 * export default createLockService({ adapter: memoryAdapter(), tokens: "change-me-0001" });
 * ```
 *
 * @module
 */
export { createLockService } from "./app.js";
export { parseTokens, type TokenGrant } from "./auth.js";
export * from "./env.js";
export type { LockServiceOptions } from "./options.js";
export { type ServiceEnv, serviceOptionsFromEnv } from "./options-from-env.js";
