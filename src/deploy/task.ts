import { formatErrorChain } from '../errors.js';
import type { StateStore } from '../state/index.js';

/** The engine reports progress through this hook and never prints itself. */
export interface TaskListener {
  /** A step began: `Creating missing vms: master/uuid (0)`. */
  started(e: StepEvent): void;
  /** A step ended, well or not, after `elapsedMs`. */
  finished(e: StepEvent & { readonly elapsedMs: number; readonly error?: string }): void;
  /** A free-form line for the debug log (never secrets). */
  debug?(line: string): void;
}

export interface StepEvent {
  readonly stage: string;
  readonly task: string;
  readonly tags: readonly string[];
  readonly index: number;
  readonly total: number;
  readonly time: Date;
}

export interface Clock {
  now(): Date;
}

/** A running task: numbered, recorded in the state, reported to a listener. */
export class Task {
  constructor(
    readonly id: number,
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly listener: TaskListener,
  ) {}

  /** Runs `fn` as one step of `stage`, recording its start, end and error. */
  async step<T>(
    stage: string,
    task: string,
    fn: () => Promise<T>,
    opts: { index?: number; total?: number; tags?: readonly string[] } = {},
  ): Promise<T> {
    const base = { stage, task, tags: opts.tags ?? [], index: opts.index ?? 1, total: opts.total ?? 1 };
    const start = this.clock.now();
    this.store.tasks.event(this.id, { ...base, state: 'started' });
    this.listener.started({ ...base, time: start });
    try {
      const v = await fn();
      const end = this.clock.now();
      this.store.tasks.event(this.id, { ...base, state: 'finished' });
      this.listener.finished({ ...base, time: end, elapsedMs: end.getTime() - start.getTime() });
      return v;
    } catch (err) {
      const end = this.clock.now();
      const error = formatErrorChain(err);
      this.store.tasks.event(this.id, { ...base, state: 'failed', error });
      this.listener.finished({ ...base, time: end, elapsedMs: end.getTime() - start.getTime(), error });
      throw err;
    }
  }

  debug(line: string): void {
    this.store.tasks.debug(this.id, line);
    this.listener.debug?.(line);
  }
}

/** `00:01:02` from milliseconds. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}
