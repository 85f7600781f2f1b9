/**
 * Structured logs of the lock service: one JSON line per request and per
 * error, when `log: "json"` (`EDGELOCK_LOG_FORMAT=json`). Lines carry the
 * operation, key, status and duration; never a token (neither bearer nor
 * owner tokens are read here).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { EdgelockError } from "../src/errors.js";
import { type EventLine, maskedMessage } from "./error-log.js";

/** Where log lines go: `console.log` by default (every platform collects it). */
export type LogWriter = (line: string) => void;

const ROUTE = /\/v1\/locks\/([^/]+)(?:\/(acquire|extend|release|break))?$/;

/** Middleware writing `{"level":"info","event":"request",…}` for every request. */
export function jsonRequestLog(write: LogWriter): MiddlewareHandler {
  return async (c, next) => {
    const started = Date.now();
    await next();
    const path = new URL(c.req.url).pathname;
    const match = ROUTE.exec(path);
    let key: string | undefined;
    try {
      key = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch {
      key = undefined;
    }
    write(
      JSON.stringify({
        time: new Date(started).toISOString(),
        level: c.res.status >= 500 ? "error" : c.res.status >= 400 ? "warn" : "info",
        event: "request",
        method: c.req.method,
        operation: match ? (match[2] ?? "inspect") : undefined,
        key,
        status: c.res.status,
        durationMs: Date.now() - started,
      }),
    );
  };
}

/** A service event as one JSON line (messages masked as in the text log; never a token). */
export const jsonErrorLine: EventLine = ({ operation, callerGone, error }, suppressed) =>
  JSON.stringify({
    time: new Date().toISOString(),
    level: "error",
    event: "error",
    operation,
    callerGone,
    name: error instanceof Error ? error.name : typeof error,
    code: error instanceof EdgelockError ? error.code : undefined,
    message: maskedMessage(error),
    ...(suppressed > 0 ? { suppressed } : {}),
  });
