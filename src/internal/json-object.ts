/**
 * The JSON object an HTTP answer carries, written once for the adapters
 * that read one (the edgelock service's client, etcd's gateway).
 *
 * @module
 */

/** `text` parsed, when it is a JSON object; undefined otherwise (not JSON, an array, a proxy's HTML page). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
