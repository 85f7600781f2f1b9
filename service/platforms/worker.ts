/**
 * The Cloudflare Worker entry (`main` in `wrangler.toml`): the HTTP lock
 * service over the `LOCKS` Durable Object namespace, and the lock object
 * class that binding names. Configured by the Worker's vars and secrets
 * (`EDGELOCK_API_TOKENS`, see `docs/http.md`). `EDGELOCK_DEV_FRONT_SECRET` is
 * `npm start`'s alone (see `dev-front.ts`).
 */
import type { Hono } from "hono";
import { durableObjectAdapter, type LockObjectNamespace } from "../../adapters/durable-object/index.js";
import { createLockService } from "../app.js";
import { EDGELOCK_DEV_FRONT_SECRET } from "../env.js";
import { serviceOptionsFromEnv } from "../options-from-env.js";
import { viaDevFront } from "./dev-front.js";

export { LockDurableObject } from "../../adapters/durable-object/object.js";

/** The Worker's bindings. */
export interface WorkerEnv {
  readonly LOCKS: LockObjectNamespace;
  readonly [name: string]: unknown;
}

// One service per bindings object: workerd hands the same `env` to every
// request of an isolate, so tokens are parsed and hashed once.
let current: { env: WorkerEnv; app: Hono } | undefined;

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    if (current?.env !== env) {
      try {
        const adapter = durableObjectAdapter({ namespace: env.LOCKS });
        current = { env, app: createLockService(serviceOptionsFromEnv(env, adapter)) };
      } catch (error) {
        // Bad configuration: tell the operator in the logs, never the caller.
        console.error("edgelock: the lock service is misconfigured:", error);
        return Response.json({ error: "misconfigured" }, { status: 500, headers: { "Cache-Control": "no-store" } });
      }
    }
    const { app } = current;
    const secret = env[EDGELOCK_DEV_FRONT_SECRET];
    const fronted =
      typeof secret === "string" && secret !== "" && viaDevFront(request, secret, async (r) => app.fetch(r, env));
    return fronted || app.fetch(request, env);
  },
};
