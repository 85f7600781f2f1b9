/**
 * Root causes for messages: runtimes report every transport failure as
 * "fetch failed" and keep what happened (connection refused, unknown host,
 * TLS) in the `cause` chain.
 *
 * @module
 */

/** `TypeError: fetch failed ← Error: connect ECONNREFUSED 127.0.0.1:9 [ECONNREFUSED]`. */
export function describeChain(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let current = error; current !== undefined && current !== null && parts.length < 6; ) {
    if (seen.has(current)) break;
    seen.add(current);
    parts.push(describeOne(current));
    const next = (current as { cause?: unknown }).cause;
    // AggregateError (happy eyeballs over IPv4 and IPv6) holds its causes in `errors`.
    const inner = (current as { errors?: unknown }).errors;
    current = next ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return parts.join(" ← ");
}

function describeOne(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  const code = (error as { code?: unknown }).code;
  const tag = typeof code === "string" && !error.message.includes(code) ? ` [${code}]` : "";
  return `${error.name}: ${error.message}${tag}`;
}
