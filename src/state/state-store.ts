import type { JsonObject, JsonValue } from './json.js';
import type {
  CloudConfigRecord,
  DeploymentRecord,
  DiskRecord,
  EnvironmentRecord,
  FinishedTaskState,
  InstanceRecord,
  InstanceState,
  IpReservationRecord,
  IpReservationType,
  KeyPair,
  LockHolder,
  LockRecord,
  OrphanedDiskRecord,
  ReleaseArtifact,
  ReleaseRecord,
  StemcellRecord,
  TaskDebugLine,
  TaskEventInput,
  TaskEventRecord,
  TaskRecord,
  TaskState,
  VariableRecord,
  VmRecord,
} from './records.js';

/**
 * The director's recorded state: what exists in the cloud, what was deployed, what is running
 * now. The port is synchronous (the SQLite file is local); every method either completes its
 * change entirely or throws and changes nothing. Failures are `StateError` (a missing record or
 * a wrong transition, message naming it), `StateConflictError` (a duplicate), `LockError` (a
 * lock held by a live task) or `StateSchemaError` (opening a file this binary cannot read).
 */
export interface StateStore {
  /** The state file this store writes, or the PostgreSQL URL it uses (never with a password). */
  readonly path: string;
  /**
   * The folder on this machine where the environment keeps its files (the local blobstore, the
   * local CPI's VMs): beside a state file, or the one given when opening a PostgreSQL state.
   */
  readonly localDir: string;
  readonly environment: EnvironmentState;
  readonly cloudConfigs: CloudConfigState;
  readonly stemcells: StemcellState;
  readonly releases: ReleaseState;
  readonly deployments: DeploymentState;
  readonly variables: VariableState;
  readonly instances: InstanceStateStore;
  readonly vms: VmStateStore;
  readonly disks: DiskStateStore;
  readonly ips: IpReservationState;
  readonly tasks: TaskLog;
  readonly locks: LockTable;
  /**
   * Runs `fn` in one write transaction: all of its store calls commit together or, when it
   * throws, none do (the error is rethrown). Nested calls join the outer transaction. `fn` must
   * be synchronous: a transaction cannot span an await.
   */
  transaction<T>(fn: () => T): T;
  /**
   * Adds secret values to be replaced by `<redacted>` in everything the task log stores (debug
   * lines, event errors, task results). Variable values and private keys the store reads or
   * writes are added automatically. Callers must still pass secrets they hold from elsewhere
   * (e.g. a vars-store file) before logging.
   */
  redact(values: Iterable<string>): void;
  /** The schema version of the open file (the highest applied migration). */
  schemaVersion(): number;
  /**
   * Every record as stored, ids and times included (locks aside), for `state export` and for
   * moving an environment between SQLite and PostgreSQL. Holds secrets: variable values, keys.
   */
  snapshot(): StateSnapshot;
  /**
   * Writes a snapshot into this store, which must be empty and of the same schema version
   * (StateError otherwise); all of it or, on any failure, nothing.
   */
  restore(snapshot: StateSnapshot): void;
  /** Closes the database; later calls throw. Closing twice is harmless. */
  close(): void;
}

/** A whole state as rows per table (see StateStore.snapshot). */
export interface StateSnapshot {
  readonly format: 'director-state';
  readonly schemaVersion: number;
  /** Where it was taken (a file path or a URL without password). */
  readonly from: string;
  readonly tables: Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;
}

/** The one environment of this state file. */
export interface EnvironmentState {
  /** The environment, or undefined before `create-env` recorded it. */
  get(): EnvironmentRecord | undefined;
  /** Records the environment. Fails with StateConflictError if one is already recorded. */
  create(env: {
    readonly name: string;
    readonly directorUuid: string;
    readonly cpiType: string;
    readonly cpiProperties: JsonObject;
    readonly sshKey: KeyPair;
    readonly hostKeyCa?: KeyPair | null;
    readonly gateway?: JsonObject | null;
  }): EnvironmentRecord;
  /** Changes the CPI, the host-key CA or the gateway. Fails with StateError if there is no environment. */
  update(patch: {
    readonly cpiType?: string;
    readonly cpiProperties?: JsonObject;
    readonly hostKeyCa?: KeyPair | null;
    readonly gateway?: JsonObject | null;
  }): EnvironmentRecord;
  /** Forgets the environment (delete-env). Returns false if none was recorded. */
  delete(): boolean;
}

/** Cloud-config versions: every change is a new row, old versions stay readable. */
export interface CloudConfigState {
  /**
   * Records `content` as the new latest version and returns it. Content identical to the
   * latest version is not a change: the latest version is returned and nothing is written.
   */
  update(content: string): CloudConfigRecord;
  /** The latest version, or undefined if none was ever set. */
  latest(): CloudConfigRecord | undefined;
  /** One version, or undefined if there is no such version. */
  get(version: number): CloudConfigRecord | undefined;
  /** All versions, oldest first. */
  list(): readonly CloudConfigRecord[];
}

export interface StemcellState {
  /** Records an uploaded stemcell. StateConflictError if name+version+cpi or the cid exists. */
  add(stemcell: Omit<StemcellRecord, 'createdAt'>): StemcellRecord;
  /** The stemcell of that name and version (for `cpi`, or any CPI when omitted). */
  find(name: string, version: string, cpi?: string): StemcellRecord | undefined;
  /** All stemcells, by name then version as recorded. */
  list(): readonly StemcellRecord[];
  /** Forgets the stemcell with that cid. Returns false if there was none. */
  remove(cid: string): boolean;
}

export interface ReleaseState {
  /** Records an uploaded release. StateConflictError if name+version exists. */
  add(release: {
    readonly name: string;
    readonly version: string;
    readonly jobs: readonly ReleaseArtifact[];
    readonly packages: readonly ReleaseArtifact[];
  }): ReleaseRecord;
  find(name: string, version: string): ReleaseRecord | undefined;
  list(): readonly ReleaseRecord[];
  /** Forgets a release. Returns false if there was none. */
  remove(name: string, version: string): boolean;
}

export interface DeploymentState {
  /** The deployment, creating an empty record (no manifest yet) if there is none. */
  ensure(name: string): DeploymentRecord;
  get(name: string): DeploymentRecord | undefined;
  list(): readonly DeploymentRecord[];
  /**
   * Records the manifest as deployed and the cloud-config version it was deployed against.
   * Fails with StateError if the deployment or the cloud-config version does not exist.
   */
  recordDeployed(name: string, manifest: string, cloudConfigVersion: number | null): DeploymentRecord;
  /**
   * Deletes the deployment with its variables and IP reservations. Fails with StateError while
   * instances are still recorded for it. Returns false if there was no such deployment.
   */
  delete(name: string): boolean;
}

/** A deployment's generated credentials. Every value is a secret. */
export interface VariableState {
  /**
   * Stores a value (insert or replace). The id changes when the value does: `id` when given,
   * else a new random uuid. Fails with StateError if the deployment does not exist.
   */
  put(deployment: string, name: string, value: JsonValue, id?: string): VariableRecord;
  get(deployment: string, name: string): VariableRecord | undefined;
  list(deployment: string): readonly VariableRecord[];
  /** Returns false if there was no such variable. */
  delete(deployment: string, name: string): boolean;
}

export interface InstanceStateStore {
  /**
   * Records a new instance. Fails with StateError if the deployment does not exist and with
   * StateConflictError if the uuid or group+index is taken in that deployment.
   */
  create(instance: {
    readonly deployment: string;
    readonly group: string;
    readonly index: number;
    readonly uuid: string;
    readonly az: string | null;
    readonly bootstrap: boolean;
    readonly state: InstanceState;
  }): InstanceRecord;
  get(uuid: string): InstanceRecord | undefined;
  /** The instances of a deployment, by group then index. */
  list(deployment: string): readonly InstanceRecord[];
  /** Changes az, bootstrap, index or state. StateError if there is no such instance. */
  update(
    uuid: string,
    patch: {
      readonly az?: string | null;
      readonly bootstrap?: boolean;
      readonly index?: number;
      readonly state?: InstanceState;
    },
  ): InstanceRecord;
  /** Records the spec the plan wants for it. StateError if there is no such instance. */
  setDesiredSpec(uuid: string, spec: JsonObject | null): InstanceRecord;
  /** Records the spec the agent applied, with its sha256. StateError if there is no such instance. */
  setAppliedSpec(uuid: string, spec: JsonObject | null): InstanceRecord;
  /**
   * Forgets an instance and its IP reservations. Fails with StateError while VMs or disks
   * (other than orphaned ones) are recorded for it. Returns false if there was none.
   */
  delete(uuid: string): boolean;
}

/**
 * VMs, recorded before they exist. The intent rule: `recordIntent` before the CPI's create_vm
 * call, `complete` right after it returns (or `fail` when it fails), `markDeleting` before
 * delete_vm and `remove` after. A crash anywhere leaves a row `listIncomplete` returns.
 */
export interface VmStateStore {
  /**
   * Records a VM about to be created, state `intent`. Fails with StateConflictError if the
   * agent id is taken, StateError if the instance does not exist.
   */
  recordIntent(intent: {
    readonly agentId: string;
    readonly instance: string | null;
    readonly stemcellCid: string | null;
    readonly ips: readonly string[];
    readonly cloudProperties: JsonObject;
    readonly hostPublicKey: string | null;
  }): VmRecord;
  /**
   * The CPI created it: sets the cid, state `created`. StateError unless the agent id names an
   * `intent` row; StateConflictError if the cid is already recorded.
   */
  complete(agentId: string, cid: string): VmRecord;
  /** The CPI's create failed and left nothing: removes the intent row. StateError unless it is one. */
  fail(agentId: string): void;
  /** About to call delete_vm: state `deleting` (already deleting: unchanged). StateError if no VM has that cid. */
  markDeleting(cid: string): VmRecord;
  /** The VM is gone from the cloud: removes its row (any state). Returns false if none. */
  remove(cid: string): boolean;
  /** Removes the row of an intent or deleting VM found absent from the cloud. Returns false if none. */
  removeByAgentId(agentId: string): boolean;
  get(cid: string): VmRecord | undefined;
  findByAgentId(agentId: string): VmRecord | undefined;
  /** VMs of an instance, oldest first. */
  listByInstance(uuid: string): readonly VmRecord[];
  /** VMs whose instances belong to the deployment, oldest first. */
  listByDeployment(deployment: string): readonly VmRecord[];
  list(): readonly VmRecord[];
  /** Rows a crash left behind: states `intent` and `deleting`, oldest first. */
  listIncomplete(): readonly VmRecord[];
}

/**
 * Persistent disks, with the same intent rule as VMs: `recordIntent` before create_disk,
 * `complete` after (state `detached`), `markAttached`/`markDetached` around attach/detach,
 * `orphan` when no instance wants it any more, `remove` after delete_disk.
 */
export interface DiskStateStore {
  /** Records a disk about to be created (state `intent`). StateError if the instance does not exist. */
  recordIntent(intent: {
    readonly instance: string;
    readonly sizeMb: number;
    readonly cloudProperties: JsonObject;
  }): DiskRecord;
  /** create_disk returned `cid`: state `detached`. StateError unless `id` is an intent row. */
  complete(id: number, cid: string): DiskRecord;
  /** create_disk failed and left nothing: removes the intent row. StateError unless it is one. */
  fail(id: number): void;
  /** StateError unless the disk exists and is not orphaned. */
  markAttached(cid: string): DiskRecord;
  /** StateError unless the disk exists and is not orphaned. */
  markDetached(cid: string): DiskRecord;
  /** Makes it its instance's active disk, deactivating any other. StateError if not found. */
  activate(cid: string): DiskRecord;
  /**
   * Detaches the disk from its instance for good (state `orphaned`) and records it in the
   * orphaned-disk list with its deployment and instance name. StateError unless the disk
   * exists, belongs to an instance and is detached.
   */
  orphan(cid: string): OrphanedDiskRecord;
  listOrphaned(): readonly OrphanedDiskRecord[];
  /** delete_disk succeeded: removes the disk and its orphan record. Returns false if none. */
  remove(cid: string): boolean;
  get(cid: string): DiskRecord | undefined;
  getById(id: number): DiskRecord | undefined;
  /** Disks of an instance (not orphaned), oldest first. */
  listByInstance(uuid: string): readonly DiskRecord[];
  /** Intent rows a crash left behind, oldest first. */
  listIncomplete(): readonly DiskRecord[];
}

/** IP addresses taken per network; an address is reserved at most once per network. */
export interface IpReservationState {
  /**
   * Reserves `ip` on `network`. Fails with StateConflictError naming the current holder if it
   * is taken, StateError if the deployment or instance does not exist or `ip` is not an IP.
   */
  reserve(reservation: {
    readonly deployment: string;
    readonly network: string;
    readonly ip: string;
    readonly instance: string | null;
    readonly type: IpReservationType;
  }): IpReservationRecord;
  /** Returns false if it was not reserved. */
  release(network: string, ip: string): boolean;
  /** Releases every reservation of an instance; returns how many. */
  releaseForInstance(uuid: string): number;
  list(filter?: {
    readonly deployment?: string;
    readonly network?: string;
    readonly instance?: string;
  }): readonly IpReservationRecord[];
}

/** Tasks with their event log and debug log. Ids are sequential and never reused. */
export interface TaskLog {
  /** A new task in state `queued`. */
  create(task: {
    readonly description: string;
    readonly deployment?: string | null;
    readonly user: string;
  }): TaskRecord;
  /** queued → processing. StateError if the task does not exist or is not queued. */
  start(id: number): TaskRecord;
  /**
   * Appends an event with the store's clock time. StateError if the task does not exist or has
   * finished; the error text is redacted.
   */
  event(id: number, event: TaskEventInput): TaskEventRecord;
  /** Appends one debug line (redacted). StateError if the task does not exist. */
  debug(id: number, line: string): void;
  /**
   * Ends the task (result text redacted) and releases every lock it holds, in one transaction.
   * StateError if the task does not exist or has already finished.
   */
  finish(id: number, state: FinishedTaskState, result: string): TaskRecord;
  get(id: number): TaskRecord | undefined;
  /** Newest first; `recent` limits the count, the others filter. */
  list(filter?: {
    readonly recent?: number;
    readonly deployment?: string;
    readonly states?: readonly TaskState[];
  }): readonly TaskRecord[];
  /** The task's events in append order; `afterSeq` returns only later ones (for streaming). */
  events(id: number, afterSeq?: number): readonly TaskEventRecord[];
  debugLog(id: number): readonly TaskDebugLine[];
}

/**
 * Named locks, one writer each: `deployment:<name>` and `environment`. A lock whose holder
 * process is gone (same host; pid dead, a zombie or reused) or whose expiry passed is stale and
 * is taken over; the task that held it is then ended as `error` with a note.
 */
export interface LockTable {
  /**
   * Takes the lock for `taskId`, atomically across processes. Fails with LockError naming the
   * holding task, pid, host and time when another live holder has it; re-acquiring a lock the
   * same task holds renews it. `holder` defaults to this process; `ttlMs` sets an expiry.
   */
  acquire(
    name: string,
    taskId: number,
    options?: { readonly holder?: LockHolder; readonly ttlMs?: number },
  ): LockRecord;
  /** Releases it if `taskId` holds it; returns whether it did. */
  release(name: string, taskId: number): boolean;
  /** Pushes the expiry `ttlMs` ahead. LockError if `taskId` no longer holds it. */
  renew(name: string, taskId: number, ttlMs: number): LockRecord;
  get(name: string): LockRecord | undefined;
  list(): readonly LockRecord[];
  /** acquire, run `fn`, release (also when `fn` throws). */
  withLock<T>(name: string, taskId: number, fn: () => Promise<T> | T): Promise<T>;
}

/** The lock name of a deployment. */
export function deploymentLock(deployment: string): string {
  return `deployment:${deployment}`;
}

/** The lock name of the environment (create-env, delete-env, cloud-config). */
export const ENVIRONMENT_LOCK = 'environment';
