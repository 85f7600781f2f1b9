/** Per-operation latency samples, printed as p50 / p95 lines. */
export class Latencies {
  readonly #samples = new Map<string, number[]>();

  /** Run `operation`, adding its duration to `op`'s samples unless `warm`. */
  async time<T>(op: string, operation: () => Promise<T>, warm = false): Promise<T> {
    const started = performance.now();
    const result = await operation();
    if (!warm) {
      const values = this.#samples.get(op) ?? [];
      values.push(performance.now() - started);
      this.#samples.set(op, values);
    }
    return result;
  }

  /** One line per operation: `acquire  p50 1.2 ms  p95 3.4 ms  (n=100)`. */
  lines(): string[] {
    return [...this.#samples].map(([op, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      return `${op.padEnd(8)} p50 ${at(0.5).toFixed(2)} ms  p95 ${at(0.95).toFixed(2)} ms  (n=${sorted.length})`;
    });
  }
}
