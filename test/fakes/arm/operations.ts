import { randomUUID } from 'node:crypto';

/**
 * Terminal or not, as ARM's async-operation status resource spells it. Source: ARM RPC,
 * async-api-reference.md ("Succeeded", "Failed", "Canceled" are the terminal states).
 */
export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

/**
 * How long operations take, in ARM seconds, by kind: the latency model of `latency: 'time'`.
 * ARM documents no durations; these are the orders of magnitude the Azure portal's activity log
 * shows for the operation (a model, not a rule), and what matters is the shape: a VM is
 * minutes of seconds, a disk a few seconds, a NIC none (it answers Succeeded at once).
 */
export const OPERATION_SECONDS: Readonly<Record<OperationKind, number>> = {
  vmCreate: 40,
  vmUpdate: 10,
  vmDelete: 30,
  vmRestart: 20,
  vmPower: 20,
  dataDisks: 10,
  disk: 4,
  snapshot: 6,
  image: 20,
  network: 2,
  networkDelete: 10,
  storage: 15,
  resourceGroupDelete: 30,
};

/** The operation kinds of the latency model. */
export type OperationKind =
  | 'vmCreate'
  | 'vmUpdate'
  | 'vmDelete'
  | 'vmRestart'
  | 'vmPower'
  | 'dataDisks'
  | 'disk'
  | 'snapshot'
  | 'image'
  | 'network'
  | 'networkDelete'
  | 'storage'
  | 'resourceGroupDelete';

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
  /**
   * 'polls' (default): an operation completes on the poll after `pollsBeforeDone` polls.
   * 'time': it completes once its kind's time (OPERATION_SECONDS x timeScale) has passed, whoever
   * polls and however often (polling sooner gains nothing), and every answer carries the
   * Retry-After ARM would send: the seconds left (at least 1).
   */
  latency: 'polls' | 'time';
  /**
   * Real milliseconds per ARM millisecond, for everything timed: operation latencies, the NIC
   * reservation after a failed VM create, ratelimit bucket refills (default 0.01: ARM's 40 s VM
   * create takes 0.4 s). A client honouring Retry-After sleeps `Retry-After x timeScale` seconds.
   */
  timeScale: number;
}

/** A long-running operation in flight or done. */
export interface Operation {
  readonly id: string;
  readonly startTime: string;
  endTime?: string;
  status: OperationStatus;
  error?: { code: string; message: string };
  pollsLeft: number;
  /** When (Date.now()) the time model lets it complete. */
  readonly readyAt: number;
  /** The resources it holds (their writes conflict until it ends), lower case. */
  readonly holds: readonly string[];
  /** Set when it was canceled (injected, or preempted by a newer operation): it ends Canceled with this error. */
  canceled?: { code: string; message: string };
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
  /** The latency model's kind (default 'network'). */
  readonly kind?: OperationKind;
  /** Resource ids this operation holds while in progress (AnotherOperationInProgress for others). */
  readonly holds?: readonly string[];
  /** Ends the operation Canceled (injected, or preempted). */
  readonly cancelWith?: { code: string; message: string };
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
      readyAt: Date.now() + OPERATION_SECONDS[spec.kind ?? 'network'] * 1000 * this.config.timeScale,
      holds: (spec.holds ?? []).map((h) => h.toLowerCase()),
      ...(spec.cancelWith ? { canceled: spec.cancelWith } : {}),
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
          op.workError = {
            code: 'InternalExecutionError',
            message: `The operation failed: ${err instanceof Error ? err.message : String(err)}`,
          };
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

  /**
   * One poll: counts it, and completes the operation when its polls are used up (or, with the
   * time model, its time has passed) and its work is done.
   */
  poll(op: Operation): Operation {
    if (op.status !== 'InProgress') return op;
    if (this.config.latency === 'time') {
      if (Date.now() < op.readyAt) return op;
    } else if (op.pollsLeft > 0) {
      op.pollsLeft--;
      return op;
    }
    if (!op.workDone) return op;
    op.endTime = new Date().toISOString();
    if (op.canceled) {
      op.status = 'Canceled';
      op.error = op.canceled;
      op.finish(false);
    } else if (op.workError) {
      op.status = 'Failed';
      op.error = op.workError;
      op.finish(false);
    } else {
      op.status = 'Succeeded';
      op.finish(true);
    }
    return op;
  }

  /** Seconds of ARM time until the time model may complete it (at least 1), for Retry-After. */
  retryAfterSeconds(op: Operation): number {
    if (this.config.latency !== 'time') return this.config.retryAfterSeconds;
    const leftMs = (op.readyAt - Date.now()) / Math.max(this.config.timeScale, 1e-9);
    return Math.max(1, Math.ceil(leftMs / 1000));
  }

  /** The operation in progress that holds `resourceId`, if any (checked with the time model too). */
  holding(resourceId: string): Operation | undefined {
    const id = resourceId.toLowerCase();
    for (const op of this.ops.values()) {
      if (op.status !== 'InProgress' || !op.holds.includes(id)) continue;
      // an operation nobody polls (its client lost the answer, or died) still ends when its time
      // is up and its work is done, as ARM's do, whichever latency model counts the polls
      if (Date.now() >= op.readyAt && op.workDone) {
        op.pollsLeft = 0;
        this.poll(op);
        if (op.status !== 'InProgress') continue;
      }
      return op;
    }
    return undefined;
  }

  /** Preempts an operation in progress: it ends Canceled (OperationPreempted) at its next poll. */
  preempt(op: Operation): void {
    if (op.status !== 'InProgress') return;
    op.canceled = {
      code: 'OperationPreempted',
      message: 'Operation execution has been preempted by a more recent operation.',
    };
  }

  /** Every operation still in progress. */
  inProgress(): Operation[] {
    return [...this.ops.values()].filter((o) => o.status === 'InProgress');
  }
}
