/**
 * The Worker's half of `npm start`'s front (`scripts/dev-front.mjs`).
 *
 * Local workerd never tells a Worker that its client went away before the
 * response head is written (measured: neither `request.signal`, nor an RPC
 * callback stub, nor a stream passed to the Durable Object, nor a fetch to
 * it notices; only a write to a response body already under way fails), so
 * a departed waiter stayed queued and was granted. The Node front sees the
 * socket close; it tags every request it forwards with an id and, when a
 * client leaves before its answer, reports that id on {@link DEPARTED_PATH}.
 * The request with that id then aborts its own signal (from its own timer:
 * a Worker may not abort I/O that belongs to another request), which
 * withdraws its wait as a deployed Worker's `request.signal` does.
 *
 * Active only with `EDGELOCK_DEV_FRONT_SECRET` set (`npm start` sets a random
 * one) and on requests that carry it: a deployed Worker ignores both headers.
 *
 * @module
 */

/** Header carrying the front's secret, on every request it forwards. */
export const FRONT_SECRET_HEADER = "edgelock-front-secret";
/** Header carrying the front's id of one client request. */
export const FRONT_REQUEST_HEADER = "edgelock-front-request";
/** Where the front reports a departed client (`POST`, the request id in {@link FRONT_REQUEST_HEADER}). */
export const DEPARTED_PATH = "/__edgelock/front/departed";

/** How often a request in flight looks for its departure, ms. */
const CHECK_MS = 50;
/** How long a departure report waits for its request to end, ms (then 202). */
const REPORT_WAIT_MS = 10_000;
/** A report whose request never arrives is forgotten after this long, ms. */
const FORGET_MS = 60_000;
const MAX_DEPARTED = 10_000;

// Per isolate: local workerd runs one isolate for every request.
const departed = new Map<string, number>();
const inFlight = new Set<string>();

/**
 * Serve `request` through `serve` if it came through the front with `secret`;
 * `undefined` for any other request (serve it as usual).
 */
export function viaDevFront(
  request: Request,
  secret: string,
  serve: (request: Request) => Promise<Response>,
): Promise<Response> | undefined {
  const id = request.headers.get(FRONT_REQUEST_HEADER);
  if (!id || request.headers.get(FRONT_SECRET_HEADER) !== secret) return undefined;
  if (new URL(request.url).pathname === DEPARTED_PATH && request.method === "POST") return reportDeparture(id);
  return watched(request, id, serve);
}

async function watched(request: Request, id: string, serve: (request: Request) => Promise<Response>) {
  const gone = new AbortController();
  const headers = new Headers(request.headers);
  headers.delete(FRONT_SECRET_HEADER);
  headers.delete(FRONT_REQUEST_HEADER);
  const forwarded = new Request(request, { headers, signal: AbortSignal.any([request.signal, gone.signal]) });
  const check = () => {
    if (departed.delete(id)) gone.abort(new DOMException("the client disconnected", "AbortError"));
  };
  inFlight.add(id);
  check();
  const timer = setInterval(check, CHECK_MS);
  try {
    return await serve(forwarded);
  } finally {
    clearInterval(timer);
    inFlight.delete(id);
  }
}

/** Answers once the departed request has ended (its wait withdrawn): 204, or 202 if it is still running. */
async function reportDeparture(id: string): Promise<Response> {
  const now = Date.now();
  for (const [old, at] of departed) {
    if (at > now - FORGET_MS && departed.size < MAX_DEPARTED) break;
    departed.delete(old);
  }
  departed.set(id, now);
  const until = now + REPORT_WAIT_MS;
  while (inFlight.has(id) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, CHECK_MS));
  return new Response(null, { status: inFlight.has(id) ? 202 : 204 });
}
