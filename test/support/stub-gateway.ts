/**
 * How Node tests reach the lock objects in workerd: over HTTP, through a
 * route the test bundle adds in front of the Worker, instead of Miniflare's
 * Node-side binding proxy. That proxy answers some property reads with a
 * synchronous round trip to workerd, and a loaded run was seen blocked in one
 * for good, beyond the reach of every timer. Here every call is an ordinary
 * `fetch`, and the object is called from inside workerd as the Worker
 * service calls it. A waiting acquire is sent with the gateway request's own
 * `request.signal`, as the service sends it; local workerd does not abort
 * that signal when the client goes away (docs/http.md), so an abort from
 * Node is withdrawn by the adapter's `cancel` call.
 *
 * Two halves: {@link withStubGateway} runs in workerd (no `node:` imports),
 * {@link gatewayNamespace} in Node.
 *
 * @module
 */
import type { LockObjectNamespace, LockObjectStub } from "../../adapters/durable-object/index.js";

/** The path the gateway answers; every other request goes to the Worker. */
export const STUB_GATEWAY_PATH = "/__edgelock-test/stub";

/** One call on a stub, as the gateway receives it. */
interface GatewayCall {
  readonly name: string;
  readonly method: string;
  readonly args: unknown[];
}

/** A failed RPC call, with the flags Workers sets on Durable Object errors. */
interface GatewayFailure {
  readonly error: { readonly name: string; readonly message: string; readonly overloaded?: boolean };
}

interface Handler<Env> {
  fetch(request: Request, env: Env, ctx: unknown): Promise<Response> | Response;
}

/** The Worker `service`, with the gateway route in front of it (workerd side). */
export function withStubGateway<Env extends { readonly LOCKS: LockObjectNamespace }>(
  service: Handler<Env>,
): Handler<Env> {
  return {
    async fetch(request, env, ctx) {
      if (new URL(request.url).pathname !== STUB_GATEWAY_PATH) return service.fetch(request, env, ctx);
      const { name, method, args } = (await request.json()) as GatewayCall;
      const stub = env.LOCKS.get(env.LOCKS.idFromName(name));
      if (method === "fetch") {
        const [url, init] = args as [string, { method?: string; body?: string }];
        return stub.fetch(url, { method: init.method ?? "POST", body: init.body ?? null, signal: request.signal });
      }
      try {
        if (!(STUB_RPC_METHODS as readonly string[]).includes(method)) throw new TypeError(`no such method: ${method}`);
        // Called as a member: an RPC method's own properties (`apply`, `call`) are remote calls, not Function's.
        const rpc = stub as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
        return Response.json({ answer: await rpc[method]?.(...args) });
      } catch (error) {
        const e = error as { name?: unknown; message?: unknown; overloaded?: unknown };
        const failure: GatewayFailure = {
          error: {
            name: String(e?.name ?? "Error"),
            message: String(e?.message ?? error),
            ...(e?.overloaded === true ? { overloaded: true } : {}),
          },
        };
        return Response.json(failure, { status: 502 });
      }
    },
  };
}

/** The RPC methods a stub offers, besides `fetch`. */
export const STUB_RPC_METHODS = [
  "acquire",
  "extend",
  "release",
  "inspect",
  "forceRelease",
  "cancel",
  "readValue",
  "writeValue",
  "semaphoreAcquire",
  "semaphoreExtend",
  "semaphoreRelease",
  "semaphoreInspect",
] as const;

/**
 * A `LOCKS` namespace for Node whose stubs call the objects through the
 * gateway at `base` (the Worker's URL): `durableObjectAdapter({ namespace })`.
 * A failed call rejects with the object's error name, message and
 * `overloaded` flag, as an RPC call does.
 */
export function gatewayNamespace(base: URL): LockObjectNamespace<string> {
  const gateway = new URL(STUB_GATEWAY_PATH, base).href;
  const send = (call: GatewayCall, signal?: AbortSignal | null) =>
    fetch(gateway, { method: "POST", body: JSON.stringify(call), ...(signal ? { signal } : {}) });
  return {
    idFromName: (name) => name,
    get(name) {
      const stub: Record<string, unknown> = {
        fetch: (url: string, init: RequestInit) =>
          send({ name, method: "fetch", args: [url, { method: init.method, body: init.body }] }, init.signal),
      };
      for (const method of STUB_RPC_METHODS) {
        stub[method] = async (...args: unknown[]) => {
          const response = await send({ name, method, args });
          const body = (await response.json()) as { answer?: unknown } & Partial<GatewayFailure>;
          if (body.error) throw Object.assign(new Error(body.error.message), body.error);
          return body.answer;
        };
      }
      return stub as unknown as LockObjectStub;
    },
  };
}
