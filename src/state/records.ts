import type { JsonObject, JsonValue } from './json.js';

/** An SSH key pair in OpenSSH/PEM text form. The private half is a secret. */
export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** The environment a state file belongs to: one per file. */
export interface EnvironmentRecord {
  readonly name: string;
  readonly directorUuid: string;
  readonly cpiType: string;
  readonly cpiProperties: JsonObject;
  /** The key the director logs in to every VM with. */
  readonly sshKey: KeyPair;
  /** The CA that signs VM host keys, when host keys are certified rather than recorded per VM. */
  readonly hostKeyCa: KeyPair | null;
  /**
   * How the director reaches the VMs (src/env/gateway.ts reads it): `{mode: none}`, a gateway the
   * operator named, or the jumpbox create-env made (with the host key the director generated).
   * null when never said: directly. Holds private keys.
   */
  readonly gateway: JsonObject | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CloudConfigRecord {
  /** 1, 2, 3 ... one per change. */
  readonly version: number;
  readonly content: string;
  readonly createdAt: string;
}

export interface StemcellRecord {
  readonly name: string;
  readonly version: string;
  readonly os: string;
  readonly cid: string;
  readonly cpi: string;
  readonly createdAt: string;
}

/** A compiled or source artifact of a release, stored in the blobstore. */
export interface ReleaseArtifact {
  readonly name: string;
  readonly fingerprint: string;
  readonly sha1: string;
  readonly blobstorePath: string;
  /** For packages: the packages it depends on; for jobs: the packages it uses. */
  readonly dependencies: readonly string[];
}

export interface ReleaseRecord {
  readonly name: string;
  readonly version: string;
  readonly jobs: readonly ReleaseArtifact[];
  readonly packages: readonly ReleaseArtifact[];
  readonly createdAt: string;
}

export interface DeploymentRecord {
  readonly name: string;
  /** The manifest text as last successfully deployed; null before the first deploy finished. */
  readonly manifest: string | null;
  readonly cloudConfigVersion: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A generated credential of a deployment. `value` is a secret. */
export interface VariableRecord {
  readonly deployment: string;
  readonly name: string;
  /** Changes whenever the value changes, like a BOSH credential version id. */
  readonly id: string;
  readonly value: JsonValue;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type InstanceState = 'started' | 'stopped' | 'detached';

export interface InstanceRecord {
  readonly deployment: string;
  readonly group: string;
  readonly index: number;
  readonly uuid: string;
  readonly az: string | null;
  readonly bootstrap: boolean;
  readonly state: InstanceState;
  readonly desiredSpec: JsonObject | null;
  readonly appliedSpec: JsonObject | null;
  /** sha256 (hex) of the applied spec's canonical JSON (keys sorted). */
  readonly appliedSpecSha: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type VmState = 'intent' | 'created' | 'deleting';

export interface VmRecord {
  readonly agentId: string;
  /** Null while the VM is only an intent. */
  readonly cid: string | null;
  /** Uuid of the instance it serves, if any. */
  readonly instance: string | null;
  readonly deployment: string | null;
  readonly stemcellCid: string | null;
  readonly ips: readonly string[];
  readonly cloudProperties: JsonObject;
  readonly state: VmState;
  /** The host key the director generated for it; SSH to the VM verifies against it. */
  readonly hostPublicKey: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type DiskState = 'intent' | 'attached' | 'detached' | 'orphaned';

export interface DiskRecord {
  /** The store's id for the disk, known before the CPI call (the cid is not). */
  readonly id: number;
  readonly cid: string | null;
  readonly instance: string | null;
  readonly deployment: string | null;
  readonly sizeMb: number;
  readonly cloudProperties: JsonObject;
  readonly state: DiskState;
  readonly active: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface OrphanedDiskRecord {
  readonly cid: string;
  readonly deployment: string;
  /** "group/uuid" of the instance it belonged to. */
  readonly instance: string;
  readonly az: string | null;
  readonly sizeMb: number;
  readonly cloudProperties: JsonObject;
  readonly orphanedAt: string;
}

export type IpReservationType = 'static' | 'dynamic';

export interface IpReservationRecord {
  readonly deployment: string;
  readonly network: string;
  readonly ip: string;
  readonly instance: string | null;
  readonly type: IpReservationType;
  readonly createdAt: string;
}

export type TaskState = 'queued' | 'processing' | 'done' | 'error' | 'cancelled';
export type FinishedTaskState = 'done' | 'error' | 'cancelled';

export interface TaskRecord {
  readonly id: number;
  readonly description: string;
  readonly deployment: string | null;
  readonly state: TaskState;
  readonly user: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly result: string | null;
}

export type TaskEventState = 'started' | 'in_progress' | 'finished' | 'failed';

/** One line of a task's event log, bosh-style: a step `task` of a `stage`, `index` of `total`. */
export interface TaskEventInput {
  readonly stage: string;
  readonly tags: readonly string[];
  readonly index: number;
  readonly total: number;
  readonly task: string;
  readonly state: TaskEventState;
  /** 0..100; defaults to 0 when started, 100 when finished or failed. */
  readonly progress?: number;
  readonly error?: string;
  readonly data?: JsonObject;
}

export interface TaskEventRecord {
  readonly taskId: number;
  /** Position in the task's event log, 1-based, in append order. */
  readonly seq: number;
  readonly time: string;
  readonly stage: string;
  readonly tags: readonly string[];
  readonly index: number;
  readonly total: number;
  readonly task: string;
  readonly state: TaskEventState;
  readonly progress: number;
  readonly error: string | null;
  readonly data: JsonObject | null;
}

export interface TaskDebugLine {
  readonly time: string;
  readonly line: string;
}

/** The process that holds (or wants) a lock. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** Start time of the process (field 22 of /proc/<pid>/stat); tells a reused pid apart. */
  readonly processStart: string | null;
  /** The operating-system user running it, when known. */
  readonly user?: string;
}

export interface LockRecord {
  readonly name: string;
  readonly taskId: number;
  readonly holder: LockHolder;
  readonly acquiredAt: string;
  readonly expiresAt: string | null;
}
