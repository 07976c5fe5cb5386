import type { Schedule } from '../../src/deploy/schedule.js';
import type { StepEvent, TaskListener } from '../../src/deploy/task.js';

/**
 * A task listener keeping what a deploy did when: each stage's first start and last end, and how
 * long each step took. From the steps' own durations it computes the deploy's critical path as
 * the schedule runs it, so that wall time splits into "the steps themselves" and "the engine
 * between them".
 */
export class StepRecorder implements TaskListener {
  /** Stage → first start and last end (performance.now() ms). */
  readonly spans = new Map<string, { start: number; end: number }>();
  /** `stage: task` → elapsed ms. */
  private readonly steps = new Map<string, number>();
  /** Creation steps in the order they were handed out (their index). */
  private readonly creations: { index: number; ms: number }[] = [];

  started(e: StepEvent): void {
    if (!this.spans.has(e.stage)) this.spans.set(e.stage, { start: performance.now(), end: performance.now() });
  }

  finished(e: StepEvent & { readonly elapsedMs: number }): void {
    const s = this.spans.get(e.stage);
    if (s) s.end = performance.now();
    this.steps.set(`${e.stage}: ${e.task}`, e.elapsedMs);
    if (e.stage === 'Creating missing vms') this.creations.push({ index: e.index, ms: e.elapsedMs });
  }

  /**
   * The least wall time the steps as they ran allow under the schedule: the creations through a
   * pool of `vmPool` (each worker takes the next VM when it is free, as the Deployer's pool does),
   * then each stage's longest group, a group being its turns one after another and a turn as long
   * as its slowest step.
   */
  criticalPath(
    schedule: Schedule,
    vmPool: number,
  ): { createMs: number; stages: readonly { groups: readonly string[]; ms: number }[] } {
    const free = Array.from({ length: vmPool }, () => 0);
    for (const c of [...this.creations].sort((a, b) => a.index - b.index)) {
      const w = free.indexOf(Math.min(...free));
      free[w] = free[w]! + c.ms;
    }
    const createMs = this.creations.length ? Math.max(...free) : 0;
    const stages = schedule.stages.map((stage) => ({
      groups: stage.map((g) => g.group),
      ms: Math.max(
        ...stage.map((g) => {
          const turns = [
            ...g.canaries.map((b) => ({ b, canary: true })),
            ...g.batches.map((b) => ({ b, canary: false })),
          ];
          return turns.reduce(
            (sum, t) =>
              sum +
              Math.max(
                ...t.b.map(
                  (p) => this.steps.get(`Updating instance ${g.group}: ${p.label}${t.canary ? ' (canary)' : ''}`) ?? 0,
                ),
              ),
            0,
          );
        }),
      ),
    }));
    return { createMs, stages };
  }
}
