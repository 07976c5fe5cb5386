import { DirectorError } from '../errors.js';

/** Something the state store refuses: a missing record, a wrong state transition, a conflict. */
export class StateError extends DirectorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateError';
  }
}

/** A record that would duplicate one already in the state (a unique constraint). */
export class StateConflictError extends StateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateConflictError';
  }
}

/** The state file was written by a newer director, or its migration history is not ours. */
export class StateSchemaError extends StateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateSchemaError';
  }
}

/** Who holds a lock, as a LockError reports it. */
export interface LockHolderInfo {
  readonly lockName: string;
  readonly taskId: number;
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
  /** The user running the holder, when its lock recorded one. */
  readonly user?: string;
}

/**
 * A lock is held by another live task. The message names the task, its process and since when:
 * "Deployment 'my-cluster' is being changed by task 42 (pid 1234 on host x, since 10:01:02)".
 */
export class LockError extends DirectorError {
  readonly holder: LockHolderInfo;

  constructor(holder: LockHolderInfo) {
    super(describeLockHolder(holder));
    this.name = 'LockError';
    this.holder = holder;
  }
}

/**
 * The sentence a LockError carries; times are UTC: "task 12 (deployer@ci-runner-3, pid 1234,
 * since 10:01:02)", or "task 12 (pid 1234 on host x, since 10:01:02)" when no user is recorded.
 */
export function describeLockHolder(h: LockHolderInfo): string {
  const by = h.user ? `${h.user}@${h.hostname}, pid ${h.pid}` : `pid ${h.pid} on host ${h.hostname}`;
  const who = `task ${h.taskId} (${by}, since ${clockTime(h.acquiredAt)})`;
  if (h.lockName === 'environment') return `Environment is being changed by ${who}`;
  if (h.lockName.startsWith('deployment:')) {
    return `Deployment '${h.lockName.slice('deployment:'.length)}' is being changed by ${who}`;
  }
  return `Lock '${h.lockName}' is held by ${who}`;
}

function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(11, 19);
}
