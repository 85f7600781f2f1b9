/**
 * The Cloudflare Worker entry (`main` in `wrangler.toml`): exports the lock
 * object class the `LOCKS` binding names. The HTTP service replaces the
 * default export.
 */
export { LockDurableObject } from "../../adapters/durable-object/object.js";

export default {
  fetch(): Response {
    return new Response("Not Found", { status: 404 });
  },
};
