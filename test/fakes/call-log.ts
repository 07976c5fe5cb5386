/** Calls by method: how many, and how long the real (undelayed) work took in total and at most. */
export class CallLog<M extends string> {
  private readonly entries = new Map<M, { calls: number; totalMs: number; maxMs: number }>();

  /** Runs `work` as one call of `method`, timing it, then waits `delayMs` (the injected latency). */
  async call<T>(method: M, work: () => Promise<T>, delayMs: number, sleep: (ms: number) => Promise<void>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.record(method, performance.now() - t0);
      await sleep(delayMs);
    }
  }

  /** Counts one call of `method` that took `ms`. */
  record(method: M, ms: number): void {
    const e = this.entries.get(method) ?? { calls: 0, totalMs: 0, maxMs: 0 };
    this.entries.set(method, { calls: e.calls + 1, totalMs: e.totalMs + ms, maxMs: Math.max(e.maxMs, ms) });
  }

  /** Calls of `methods` so far. */
  count(...methods: readonly M[]): number {
    return methods.reduce((n, m) => n + (this.entries.get(m)?.calls ?? 0), 0);
  }

  /** Every call so far. */
  total(): number {
    return [...this.entries.values()].reduce((n, e) => n + e.calls, 0);
  }

  /** A copy of the log as it stands. */
  snapshot(): ReadonlyMap<M, { readonly calls: number; readonly totalMs: number; readonly maxMs: number }> {
    return new Map([...this.entries].map(([k, v]) => [k, { ...v }]));
  }
}
