/**
 * A `fetch` that records every request it passes on to the real one (and
 * can lose answers after the backend applied the request), for the adapter
 * test files that count or order their requests. The conformance suite has
 * its own, richer wire (`test/conformance/transport.ts`).
 *
 * @module
 */

/** What a {@link countingFetch} saw, live. */
export interface FetchLog {
  /** Requests sent so far. */
  requests: number;
  /** Each request's URL path, in order. */
  readonly paths: string[];
  /** Each request's method and URL, in order. */
  readonly calls: { readonly method: string; readonly url: URL }[];
}

export interface CountingFetchOptions {
  /** Lose the answer of the n-th request (1-based): the request still applies. */
  readonly loseNth?: number | undefined;
  /** Lose the answer of every n-th request. */
  readonly loseEvery?: number | undefined;
  /** Where requests go. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * @example
 * ```ts
 * const { state, fetch } = countingFetch();
 * const adapter = etcdAdapter({ endpoint, fetch });
 * await adapter.inspect("k");
 * expect(state.paths).toEqual(["/v3/kv/txn"]);
 * ```
 */
export function countingFetch(options: CountingFetchOptions = {}): { state: FetchLog; fetch: typeof fetch } {
  const state: FetchLog = { requests: 0, paths: [], calls: [] };
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const counted: typeof fetch = async (input, init) => {
    const n = ++state.requests;
    const url = new URL(input instanceof Request ? input.url : String(input));
    state.paths.push(url.pathname);
    state.calls.push({ method: init?.method ?? (input instanceof Request ? input.method : "GET"), url });
    const response = await send(input, init);
    const { loseNth, loseEvery } = options;
    if (n === loseNth || (loseEvery !== undefined && loseEvery > 0 && n % loseEvery === 0)) {
      // Let the whole answer arrive, so the backend is done with the request.
      await response.arrayBuffer();
      throw new TypeError("fetch failed (injected: answer lost after the request was applied)");
    }
    return response;
  };
  return { state, fetch: counted };
}
