/**
 * `edgelock/otel`: OpenTelemetry spans and metrics from the lock client's
 * events, through `@opentelemetry/api` (an optional peer dependency). With
 * no SDK registered an event costs two lookups and builds nothing
 * (`./otel-sdk.ts`); an SDK registered later is picked up from its next event.
 *
 * Each operation becomes one `INTERNAL` span (`edgelock.acquire`,
 * `edgelock.extend`, `edgelock.release`, `edgelock.inspect`,
 * `edgelock.force_release`), started and ended at the operation's own times
 * and parented to the context active when it finished (the caller's). The
 * backend's HTTP requests, if instrumented, are its siblings. Failures set
 * the span status to `ERROR` and `error.type` (OpenTelemetry semantic
 * conventions) to edgelock's error code. Durations are histograms in
 * seconds, as the conventions ask.
 *
 * @module
 */
import { type Attributes, type MeterProvider, SpanKind, SpanStatusCode, type TracerProvider } from "@opentelemetry/api";
import type { LockEvent, LockEventListener, LockOperation } from "../events.js";
import { type Instruments, instrumentSource, tracerSource } from "./otel-sdk.js";

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /** Default: the globally registered one (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider;
  /** Default: the globally registered one (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider;
  /**
   * Put the lock key on spans as `edgelock.lock.key`. Default `true`; turn
   * it off when keys carry data you do not export. Metrics never carry keys
   * (unbounded cardinality).
   */
  readonly recordKeys?: boolean;
}

const SPAN_NAMES: Record<LockOperation, string> = {
  acquire: "edgelock.acquire",
  extend: "edgelock.extend",
  release: "edgelock.release",
  inspect: "edgelock.inspect",
  forceRelease: "edgelock.force_release",
};

/**
 * A listener for {@link LockerOptions.onEvent} that records spans and
 * metrics:
 *
 * | metric | type | unit | attributes |
 * |---|---|---|---|
 * | `edgelock.operation.duration` | histogram | s | `edgelock.operation`, `edgelock.backend`, `edgelock.outcome`, `error.type` |
 * | `edgelock.lock.wait.duration` | histogram | s | `edgelock.backend`, `edgelock.outcome` (`acquired`, `held`, `timeout`) |
 * | `edgelock.lock.hold.duration` | histogram | s | `edgelock.backend`, `edgelock.outcome` (`released`, `lost`) |
 * | `edgelock.lock.handoffs` | counter | `{handoff}` | `edgelock.backend` |
 * | `edgelock.lock.lost` | counter | `{lease}` | `edgelock.backend`, `edgelock.lost.reason` |
 * | `edgelock.backend.errors` | counter | `{error}` | `edgelock.backend`, `edgelock.operation`, `error.type` |
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { openTelemetry } from "edgelock/otel";
 * const locker = createLocker({ adapter, onEvent: openTelemetry() });
 * ```
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): LockEventListener {
  const tracer = tracerSource(options.tracerProvider);
  const instruments = instrumentSource(options.meterProvider);
  const recordKeys = options.recordKeys ?? true;

  // Attribute objects are written as literals: object spread costs microseconds a time on
  // Node 20, more than the rest of a memory-adapter operation.
  return (event) => {
    if (event.type === "waited") return;
    const metrics = instruments();
    const spans = tracer();
    if (!metrics && !spans) return;
    if (event.type === "lost") {
      if (!metrics) return;
      metrics.lost.add(1, { "edgelock.backend": event.backend, "edgelock.lost.reason": event.reason });
      metrics.hold.record(event.heldMs / 1000, { "edgelock.backend": event.backend, "edgelock.outcome": "lost" });
      return;
    }
    if (event.type === "backend_error") {
      metrics?.backendErrors.add(1, {
        "edgelock.backend": event.backend,
        "edgelock.operation": event.operation,
        "error.type": event.error.code,
      });
      return;
    }
    const operation = operationOf(event);
    const outcome = outcomeOf(event);
    const error = event.type === "extend_failed" || event.type === "failed" ? event.error : undefined;
    if (metrics) record(metrics, event, operation, outcome, error?.code);
    if (!spans) return;
    const span = spans.startSpan(SPAN_NAMES[operation], {
      kind: SpanKind.INTERNAL,
      startTime: event.startedAt,
      attributes: spanAttributes(event, operation, outcome, error?.code, recordKeys),
    });
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end(event.startedAt + event.durationMs);
  };
}

type OperationEvent = Extract<LockEvent, { startedAt: number }>;

function record(
  metrics: Instruments,
  event: OperationEvent,
  operation: LockOperation,
  outcome: string,
  errorType: string | undefined,
): void {
  const seconds = event.durationMs / 1000;
  const attributes: Attributes = {
    "edgelock.backend": event.backend,
    "edgelock.operation": operation,
    "edgelock.outcome": outcome,
  };
  if (errorType !== undefined) attributes["error.type"] = errorType;
  metrics.operation.record(seconds, attributes);
  if (operation === "acquire") {
    metrics.wait.record(seconds, { "edgelock.backend": event.backend, "edgelock.outcome": outcome });
    if (event.type === "acquired" && event.attempts > 1) metrics.handoffs.add(1, { "edgelock.backend": event.backend });
  }
  if (event.type === "released") {
    metrics.hold.record(event.heldMs / 1000, { "edgelock.backend": event.backend, "edgelock.outcome": "released" });
  }
}

function spanAttributes(
  event: OperationEvent,
  operation: LockOperation,
  outcome: string,
  errorType: string | undefined,
  recordKeys: boolean,
): Attributes {
  const attributes: Attributes = {
    "edgelock.backend": event.backend,
    "edgelock.operation": operation,
    "edgelock.outcome": outcome,
    "edgelock.requests": event.requests,
  };
  if (recordKeys) attributes["edgelock.lock.key"] = event.key;
  switch (event.type) {
    case "acquired":
      attributes["edgelock.lock.fence"] = event.fence;
      attributes["edgelock.lock.ttl_ms"] = event.ttlMs;
      attributes["edgelock.acquire.attempts"] = event.attempts;
      break;
    case "refused":
      attributes["edgelock.acquire.attempts"] = event.attempts;
      break;
    case "extended":
      attributes["edgelock.lock.fence"] = event.fence;
      attributes["edgelock.lock.ttl_ms"] = event.ttlMs;
      break;
    case "extend_failed":
      attributes["edgelock.lock.fence"] = event.fence;
      break;
    case "released":
      attributes["edgelock.lock.fence"] = event.fence;
      attributes["edgelock.lock.held_ms"] = event.heldMs;
      break;
    case "force_released":
      if (event.fence !== undefined) attributes["edgelock.lock.fence"] = event.fence;
      break;
  }
  if (errorType !== undefined) attributes["error.type"] = errorType;
  return attributes;
}

function operationOf(event: OperationEvent): LockOperation {
  switch (event.type) {
    case "acquired":
    case "refused":
      return "acquire";
    case "extended":
    case "extend_failed":
      return "extend";
    case "released":
      return "release";
    case "inspected":
      return "inspect";
    case "force_released":
      return "forceRelease";
    case "failed":
      return event.operation;
  }
}

function outcomeOf(event: OperationEvent): string {
  switch (event.type) {
    case "acquired":
      return "acquired";
    case "refused":
      return event.reason;
    case "extended":
      return "extended";
    case "extend_failed":
      return event.error.code === "lock_lost" ? "lost" : "error";
    case "released":
      return "released";
    case "inspected":
      return event.held ? "held" : "free";
    case "force_released":
      return event.released ? "broken" : "not_held";
    case "failed":
      return "error";
  }
}
