import { metrics, trace } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, LockLostError } from "../../src/index.js";
import { openTelemetry } from "../../src/telemetry/otel.js";
import { freePort } from "../support/ports.js";
import { sleep } from "../support/timing.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
}, 60_000);
afterAll(() => upstash?.stop());

let counter = 0;
const key = (label: string) => `otel-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** The SDK's providers with in-memory exporters. */
function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const metric = async (name: string) => {
    const { resourceMetrics } = await reader.collect();
    const found = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
    return found?.dataPoints ?? [];
  };
  return { spans, tracerProvider, meterProvider, metric };
}

/** The SDK with in-memory exporters, and lock clients reporting to it. */
function observed(url = upstash.url) {
  const { spans, tracerProvider, meterProvider, metric } = sdk();
  const onEvent = openTelemetry({ tracerProvider, meterProvider });
  const locker = () =>
    createLocker({
      // A user's own client: waiting polls (over the adapter's own requester it would block in BLPOP),
      // so the refused attempts between polls are there to report.
      adapter: upstashAdapter({ redis: new Redis({ url: url, token: upstash.token, retry: { retries: 0 } }) }),
      onEvent,
      backoff: { baseMs: 20, maxMs: 80 },
      retries: 1,
    });
  return { spans, locker, metric };
}

describe("edgelock/otel with the OpenTelemetry SDK's in-memory exporters, against Upstash REST over redis-server", () => {
  test("an acquire-wait-release cycle: one span per operation with backend, requests, attempts and fence; wait, hold and hand-off metrics", async () => {
    const { spans, locker, metric } = observed();
    const [a, b] = [locker(), locker()];
    const k = key("cycle");
    const held = await a.acquire(k, { ttlMs: 10_000 });
    const waiting = b.acquire(k, { ttlMs: 10_000, waitMs: 20_000 });
    await sleep(300);
    await held.release();
    const next = await waiting;
    await next.release();

    const finished = spans.getFinishedSpans();
    const summary = finished.map((span) => ({
      name: span.name,
      kind: span.kind,
      durationMs: span.duration[0] * 1e3 + span.duration[1] / 1e6,
      ...span.attributes,
    }));
    console.log(`spans of an acquire-wait-release cycle:\n${summary.map((s) => JSON.stringify(s)).join("\n")}`);
    expect(finished.map((span) => span.name)).toEqual([
      "edgelock.acquire",
      "edgelock.release",
      "edgelock.acquire",
      "edgelock.release",
    ]);
    const [first, released, second] = finished;
    expect(first?.attributes).toMatchObject({
      "edgelock.backend": "upstash",
      "edgelock.operation": "acquire",
      "edgelock.outcome": "acquired",
      "edgelock.lock.key": k,
      "edgelock.lock.fence": held.fence,
      "edgelock.requests": 1,
      "edgelock.acquire.attempts": 1,
    });
    expect(released?.attributes).toMatchObject({ "edgelock.outcome": "released", "edgelock.lock.fence": held.fence });
    const attempts = Number(second?.attributes["edgelock.acquire.attempts"]);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(second?.attributes).toMatchObject({ "edgelock.requests": attempts, "edgelock.lock.fence": next.fence });
    // The waiter's span covers its wait: it started before the holder released and ended after.
    const ms = (time: [number, number]) => time[0] * 1e3 + time[1] / 1e6;
    if (!second || !released) throw new Error("missing spans");
    expect(ms(second.startTime)).toBeLessThan(ms(released.startTime));
    expect(ms(second.endTime)).toBeGreaterThanOrEqual(ms(released.endTime) - 1);
    for (const span of finished) expect(JSON.stringify(span.attributes)).not.toContain(held.token);

    const waits = await metric("edgelock.lock.wait.duration");
    expect(waits).toHaveLength(1);
    const wait = waits[0]?.value as { count: number; max: number };
    expect(wait.count).toBe(2);
    expect(wait.max).toBeGreaterThanOrEqual(0.25);
    expect(waits[0]?.attributes).toEqual({ "edgelock.backend": "upstash", "edgelock.outcome": "acquired" });
    const hold = (await metric("edgelock.lock.hold.duration"))[0]?.value as { count: number };
    expect(hold.count).toBe(2);
    expect((await metric("edgelock.lock.handoffs"))[0]?.value).toBe(1);
    const operations = await metric("edgelock.operation.duration");
    expect(operations.map((point) => point.attributes["edgelock.operation"]).sort()).toEqual(["acquire", "release"]);
  }, 30_000);

  test("a lease lost after a break: the extend span is an error with error.type, and the lost counter rises", async () => {
    const { spans, locker, metric } = observed();
    const k = key("lost");
    const lease = await locker().acquire(k, { ttlMs: 5_000 });
    await locker().forceRelease(k);
    await expect(lease.extend()).rejects.toBeInstanceOf(LockLostError);
    const extend = spans.getFinishedSpans().find((span) => span.name === "edgelock.extend");
    expect(extend?.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(extend?.attributes).toMatchObject({ "error.type": "lock_lost", "edgelock.outcome": "lost" });
    const broken = spans.getFinishedSpans().find((span) => span.name === "edgelock.force_release");
    expect(broken?.attributes).toMatchObject({ "edgelock.outcome": "broken", "edgelock.lock.fence": lease.fence });
    const lost = await metric("edgelock.lock.lost");
    expect(lost[0]).toMatchObject({ value: 1, attributes: { "edgelock.lost.reason": "refused" } });
  }, 30_000);

  test("an unreachable backend: each failed request counts as a backend error, the operation's span is an error", async () => {
    const { spans, locker, metric } = observed(`http://127.0.0.1:${await freePort()}`);
    await expect(locker().inspect(key("down"))).rejects.toMatchObject({ code: "backend_unavailable" });
    const errors = await metric("edgelock.backend.errors");
    expect(errors[0]).toMatchObject({
      value: 2,
      attributes: { "edgelock.operation": "inspect", "error.type": "backend_unavailable" },
    });
    const [span] = spans.getFinishedSpans();
    expect(span?.name).toBe("edgelock.inspect");
    expect(span?.status.code).toBe(2);
    expect(span?.attributes).toMatchObject({ "edgelock.requests": 2, "error.type": "backend_unavailable" });
  }, 30_000);

  test("the global SDK registered after openTelemetry() was made: nothing before, spans and metrics from then on", async () => {
    const onEvent = openTelemetry();
    const backgroundErrors: unknown[] = [];
    const locker = createLocker({
      adapter: upstashAdapter({ redis: new Redis({ url: upstash.url, token: upstash.token }) }),
      onEvent,
      onBackgroundError: (error) => backgroundErrors.push(error),
    });
    const k = key("late");
    const { spans, tracerProvider, meterProvider, metric } = sdk();
    try {
      // No SDK yet: the API's no-ops; the lock works and the listener reports no failure.
      await (await locker.acquire(k, { ttlMs: 5_000 })).release();
      expect(await locker.tryAcquire(k, { ttlMs: 5_000 })).not.toBeNull();
      expect(await locker.tryAcquire(k, { ttlMs: 5_000 })).toBeNull();
      await locker.forceRelease(k);

      expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
      expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
      const lease = await locker.acquire(k, { ttlMs: 5_000 });
      await lease.release();
      expect(spans.getFinishedSpans().map((span) => span.name)).toEqual(["edgelock.acquire", "edgelock.release"]);
      expect(spans.getFinishedSpans()[0]?.attributes).toMatchObject({
        "edgelock.backend": "upstash",
        "edgelock.lock.key": k,
        "edgelock.lock.fence": lease.fence,
      });
      const waits = await metric("edgelock.lock.wait.duration");
      expect(waits.map((point) => (point.value as { count: number }).count)).toEqual([1]);
      expect((await metric("edgelock.lock.hold.duration"))[0]?.attributes).toEqual({
        "edgelock.backend": "upstash",
        "edgelock.outcome": "released",
      });
      expect(backgroundErrors).toEqual([]);
    } finally {
      trace.disable();
      metrics.disable();
    }

    // Unregistered again: back to the no-ops, nothing more reaches the SDK.
    await (await locker.acquire(k, { ttlMs: 5_000 })).release();
    expect(spans.getFinishedSpans()).toHaveLength(2);
    const after = await metric("edgelock.lock.wait.duration");
    expect(after.map((point) => (point.value as { count: number }).count)).toEqual([1]);
  }, 30_000);
});
