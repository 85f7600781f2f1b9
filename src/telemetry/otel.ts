/**
 * `edgelock/otel`: OpenTelemetry spans and metrics from the lock client's
 * events, through `@opentelemetry/api` (an optional peer dependency: with
 * no SDK registered its calls are no-ops).
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
import {
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  metrics,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import type { LockEvent, LockEventListener, LockOperation } from "../events.js";

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

const SCOPE = "edgelock";
/** Bucket boundaries in seconds: the conventions' HTTP duration buckets, extended to an hour for hold times. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 300, 900, 3600];

const SPAN_NAMES: Record<LockOperation, string> = {
  acquire: "edgelock.acquire",
  extend: "edgelock.extend",
  release: "edgelock.release",
  inspect: "edgelock.inspect",
  forceRelease: "edgelock.force_release",
};

interface Instruments {
  readonly operation: Histogram;
  readonly wait: Histogram;
  readonly hold: Histogram;
  readonly handoffs: Counter;
  readonly lost: Counter;
  readonly backendErrors: Counter;
}

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
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const recordKeys = options.recordKeys ?? true;
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, { unit: "s", description, advice: { explicitBucketBoundaries: SECONDS } });
  const instruments: Instruments = {
    operation: seconds("edgelock.operation.duration", "Duration of lock client operations"),
    wait: seconds("edgelock.lock.wait.duration", "Time from asking for a lock to getting it or giving up"),
    hold: seconds("edgelock.lock.hold.duration", "Time from a grant to its release or loss"),
    handoffs: meter.createCounter("edgelock.lock.handoffs", {
      unit: "{handoff}",
      description: "Locks granted to a caller that had found them held",
    }),
    lost: meter.createCounter("edgelock.lock.lost", { unit: "{lease}", description: "Leases lost before release" }),
    backendErrors: meter.createCounter("edgelock.backend.errors", {
      unit: "{error}",
      description: "Backend requests that failed or timed out",
    }),
  };

  return (event) => {
    const backend = { "edgelock.backend": event.backend };
    switch (event.type) {
      case "waited":
        return;
      case "lost":
        instruments.lost.add(1, { ...backend, "edgelock.lost.reason": event.reason });
        instruments.hold.record(event.heldMs / 1000, { ...backend, "edgelock.outcome": "lost" });
        return;
      case "backend_error":
        instruments.backendErrors.add(1, {
          ...backend,
          "edgelock.operation": event.operation,
          "error.type": event.error.code,
        });
        return;
    }
    const { operation, outcome, attributes, error } = describe(event);
    const metricAttributes: Attributes = {
      ...backend,
      "edgelock.operation": operation,
      "edgelock.outcome": outcome,
      ...(error ? { "error.type": error.code } : {}),
    };
    instruments.operation.record(event.durationMs / 1000, metricAttributes);
    if (operation === "acquire") {
      instruments.wait.record(event.durationMs / 1000, { ...backend, "edgelock.outcome": outcome });
      if (event.type === "acquired" && event.attempts > 1) instruments.handoffs.add(1, backend);
    }
    if (event.type === "released") {
      instruments.hold.record(event.heldMs / 1000, { ...backend, "edgelock.outcome": "released" });
    }

    const span = tracer.startSpan(SPAN_NAMES[operation], {
      kind: SpanKind.INTERNAL,
      startTime: event.startedAt,
      attributes: {
        ...backend,
        "edgelock.operation": operation,
        "edgelock.outcome": outcome,
        "edgelock.requests": event.requests,
        ...(recordKeys ? { "edgelock.lock.key": event.key } : {}),
        ...attributes,
        ...(error ? { "error.type": error.code } : {}),
      },
    });
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end(event.startedAt + event.durationMs);
  };
}

type OperationEvent = Extract<LockEvent, { startedAt: number }>;

/** The operation, outcome and span attributes an event stands for. */
function describe(event: OperationEvent): {
  operation: LockOperation;
  outcome: string;
  attributes: Attributes;
  error?: { code: string; message: string } | undefined;
} {
  switch (event.type) {
    case "acquired":
      return {
        operation: "acquire",
        outcome: "acquired",
        attributes: {
          "edgelock.lock.fence": event.fence,
          "edgelock.lock.ttl_ms": event.ttlMs,
          "edgelock.acquire.attempts": event.attempts,
        },
      };
    case "refused":
      return {
        operation: "acquire",
        outcome: event.reason,
        attributes: { "edgelock.acquire.attempts": event.attempts },
      };
    case "extended":
      return {
        operation: "extend",
        outcome: "extended",
        attributes: { "edgelock.lock.fence": event.fence, "edgelock.lock.ttl_ms": event.ttlMs },
      };
    case "extend_failed":
      return {
        operation: "extend",
        outcome: event.error.code === "lock_lost" ? "lost" : "error",
        attributes: { "edgelock.lock.fence": event.fence },
        error: event.error,
      };
    case "released":
      return {
        operation: "release",
        outcome: "released",
        attributes: { "edgelock.lock.fence": event.fence, "edgelock.lock.held_ms": event.heldMs },
      };
    case "inspected":
      return { operation: "inspect", outcome: event.held ? "held" : "free", attributes: {} };
    case "force_released":
      return {
        operation: "forceRelease",
        outcome: event.released ? "broken" : "not_held",
        attributes: event.fence === undefined ? {} : { "edgelock.lock.fence": event.fence },
      };
    case "failed":
      return { operation: event.operation, outcome: "error", attributes: {}, error: event.error };
  }
}
