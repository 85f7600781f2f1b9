/**
 * Whether an OpenTelemetry SDK is listening, asked per event and cheaply, so
 * that `openTelemetry()` with no SDK registered builds no span, attribute
 * object or instrument call at all, yet starts recording as soon as an SDK
 * registers, even one registered after the listener was made (an app that
 * sets up its SDK after importing a library that made its locker).
 *
 * @module
 */
import {
  type Counter,
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";

export const SCOPE = "edgelock";
/** Bucket boundaries in seconds: the conventions' HTTP duration buckets, extended to an hour for hold times. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 300, 900, 3600];

/**
 * What a proxy tracer provider delegates to while no SDK is registered: one
 * shared no-op instance per copy of the API. Should a later API hand out a
 * fresh one per call, nothing matches it and every event takes the full path:
 * slower, never silent.
 */
const UNREGISTERED = new ProxyTracerProvider().getDelegate();

/**
 * The tracer, or `undefined` while it is the API's no-op. The global
 * provider is a proxy that gains its delegate when an SDK registers (and is
 * replaced by `trace.disable()`), so both are looked up per event, a few
 * property reads, rather than once; the tracer is made once per provider.
 */
export function tracerSource(explicit: TracerProvider | undefined): () => Tracer | undefined {
  let provider: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  let proxy: ProxyTracerProvider | undefined;
  return () => {
    const current = explicit ?? trace.getTracerProvider();
    if (current !== provider) {
      provider = current;
      tracer = current.getTracer(SCOPE);
      proxy = current instanceof ProxyTracerProvider ? current : undefined;
    }
    return proxy?.getDelegate() === UNREGISTERED ? undefined : tracer;
  };
}

export interface Instruments {
  readonly operation: Histogram;
  readonly wait: Histogram;
  readonly hold: Histogram;
  readonly handoffs: Counter;
  readonly lost: Counter;
  readonly backendErrors: Counter;
}

/**
 * The instruments, or `undefined` while the meter is the API's no-op. The
 * metrics API has no proxy (a meter taken before an SDK registers stays a
 * no-op), so the global provider is looked up per event and the instruments
 * are made once per provider seen, never per event.
 */
export function instrumentSource(explicit: MeterProvider | undefined): () => Instruments | undefined {
  let provider: MeterProvider | undefined;
  let instruments: Instruments | undefined;
  return () => {
    const current = explicit ?? metrics.getMeterProvider();
    if (current !== provider) {
      provider = current;
      const meter = current.getMeter(SCOPE);
      instruments = meter === createNoopMeter() ? undefined : createInstruments(meter);
    }
    return instruments;
  };
}

function createInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, { unit: "s", description, advice: { explicitBucketBoundaries: SECONDS } });
  return {
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
}
