import { randomUUID } from 'node:crypto';

/** Terminal or not, as ARM's async-operation status resource spells it. */
export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

/** How long-running operations behave; changeable at runtime. */
export interface LroConfig {
  /** Polls answered InProgress before the operation may complete (0: the first poll completes it). */
  pollsBeforeDone: number;
  /** Retry-After (seconds) on 201/202 answers and InProgress polls; 0 leaves the client's own interval. */
  retryAfterSeconds: number;
  /**
   * When > 0, an operation nobody polls completes on its own this many ms after its work is done
   * (as ARM's do); 0 keeps completion strictly poll-driven and deterministic.
   */
  autoCompleteMs: number;
}

/** A long-running operation in flight or done. */
export interface Operation {
  readonly id: string;
  readonly startTime: string;
  endTime?: string;
  status: OperationStatus;
  error?: { code: string; message: string };
  pollsLeft: number;
  /** Set once `work` has settled. */
  workDone: boolean;
  workError?: { code: string; message: string };
  /** Body for a 200 answer on the Location URL once done (PUT-like operations). */
  readonly result?: () => unknown;
  /** Applies the effects of success or failure (exactly once, when the terminal status is first reported). */
  readonly finish: (ok: boolean) => void;
}

/** What a provider hands over to start an operation. */
export interface OperationSpec {
  /** Work that must finish before the operation can succeed (e.g. a VM hook). Its rejection fails the operation. */
  readonly work?: () => Promise<void>;
  /** Fails the operation with this error whatever `work` does (fault injection). */
  readonly failWith?: { code: string; message: string };
  readonly onSuccess?: () => void;
  readonly onFailure?: (error: { code: string; message: string }) => void;
  readonly result?: () => unknown;
}

/** All operations of one fake ARM, keyed by id. */
export class Operations {
  readonly config: LroConfig;
  private readonly ops = new Map<string, Operation>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(config: LroConfig) {
    this.config = config;
  }

  /** Starts an operation; its work runs now, its completion is reported on polls. */
  start(spec: OperationSpec): Operation {
    let finished = false;
    const op: Operation = {
      id: randomUUID(),
      startTime: new Date().toISOString(),
      status: 'InProgress',
      pollsLeft: this.config.pollsBeforeDone,
      workDone: false,
      ...(spec.result ? { result: spec.result } : {}),
      finish: (ok) => {
        if (finished) return;
        finished = true;
        if (ok) spec.onSuccess?.();
        else spec.onFailure?.(op.error ?? { code: 'InternalExecutionError', message: 'The operation failed.' });
      },
    };
    this.ops.set(op.id, op);
    const work = spec.failWith ? Promise.resolve() : (spec.work?.() ?? Promise.resolve());
    work
      .then(
        () => {
          op.workDone = true;
          if (spec.failWith) op.workError = spec.failWith;
        },
        (err: unknown) => {
          op.workDone = true;
          op.workError = { code: 'InternalExecutionError', message: `The operation failed: ${err instanceof Error ? err.message : String(err)}` };
        },
      )
      .then(() => this.scheduleAutoComplete(op));
    if (spec.failWith) {
      op.workDone = true;
      op.workError = spec.failWith;
    }
    return op;
  }

  private scheduleAutoComplete(op: Operation): void {
    if (this.config.autoCompleteMs <= 0) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      op.pollsLeft = 0;
      this.poll(op);
    }, this.config.autoCompleteMs);
    t.unref();
    this.timers.add(t);
  }

  /** Cancels pending automatic completions (on stop). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Looks an operation up (undefined when unknown). */
  get(id: string): Operation | undefined {
    return this.ops.get(id.toLowerCase()) ?? this.ops.get(id);
  }

  /** One poll: counts it, and completes the operation when its polls are used up and its work is done. */
  poll(op: Operation): Operation {
    if (op.status !== 'InProgress') return op;
    if (op.pollsLeft > 0) {
      op.pollsLeft--;
      return op;
    }
    if (!op.workDone) return op;
    op.endTime = new Date().toISOString();
    if (op.workError) {
      op.status = 'Failed';
      op.error = op.workError;
      op.finish(false);
    } else {
      op.status = 'Succeeded';
      op.finish(true);
    }
    return op;
  }

  /** Every operation still in progress. */
  inProgress(): Operation[] {
    return [...this.ops.values()].filter((o) => o.status === 'InProgress');
  }
}
