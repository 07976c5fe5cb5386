// The agent protocol, the one contract between the director (src/agent-client/) and the agent
// that runs on every VM (agent/). Both sides import it with `import type`; it holds types only.
//
// Transport: the director runs `node <root>/bosh/agent.cjs <command> [--root <root>]` over SSH
// exec, writes ONE JSON request on stdin and closes it. The agent answers with ONE JSON line on
// stdout, an AgentResponse. Streaming commands (run_errand, fetch_logs) first write AgentEvent
// lines, then the AgentResponse line; every stdout line is JSON.

/** A command's name, as given on the agent's command line. */
export type AgentCommand = keyof AgentCommands;

/** Every command: its request (stdin) and the value of its successful response. */
export interface AgentCommands {
  readonly ping: { readonly request: Record<string, never>; readonly value: PingValue };
  readonly apply: { readonly request: ApplyRequest; readonly value: ApplyValue };
  readonly get_state: { readonly request: GetStateRequest; readonly value: AgentStateValue };
  readonly start: { readonly request: StartRequest; readonly value: AgentStateValue };
  readonly stop: { readonly request: StopRequest; readonly value: AgentStateValue };
  readonly drain: { readonly request: DrainRequest; readonly value: DrainValue };
  readonly mount_disk: { readonly request: MountDiskRequest; readonly value: MountDiskValue };
  readonly unmount_disk: { readonly request: UnmountDiskRequest; readonly value: UnmountDiskValue };
  readonly migrate_disk: { readonly request: MigrateDiskRequest; readonly value: MigrateDiskValue };
  readonly run_errand: { readonly request: RunErrandRequest; readonly value: RunErrandValue };
  readonly fetch_logs: { readonly request: FetchLogsRequest; readonly value: FetchLogsValue };
  readonly run_script: { readonly request: RunScriptRequest; readonly value: RunScriptValue };
}

/** The one line that ends every command's output. */
export type AgentResponse<V = unknown> =
  { readonly ok: true; readonly value: V } | { readonly ok: false; readonly error: AgentErrorBody };

/** Why a command failed, as the agent reports it. `message` never holds a secret. */
export interface AgentErrorBody {
  readonly kind: AgentErrorKind;
  readonly message: string;
}

export type AgentErrorKind =
  | 'bad_request' // unknown command, malformed JSON, invalid fields
  | 'not_found' // a job, script, blob or disk that is not there
  | 'script_failed' // a job script (drain, pre-start, ...) exited non-zero or printed garbage
  | 'timeout' // the supervisor or a script did not finish in time
  | 'unsupported' // meaningful on a real VM only (e.g. a device disk hint)
  | 'internal'; // anything else

/** A line a streaming command writes before its response. */
export type AgentEvent =
  | { readonly stream: 'stdout' | 'stderr'; readonly data: string }
  | { readonly stream: 'data'; readonly base64: string };

export interface PingValue {
  readonly pong: true;
  readonly agentId: string | null;
  readonly root: string;
  readonly node: string;
}

/** A process a job declares; the supervisor keeps it running. */
export interface ProcessSpec {
  readonly name: string;
  /** A path relative to the agent root (contains '/'), or a command on PATH. */
  readonly executable: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Working directory relative to the agent root; default: the job's folder (jobs/<job>). */
  readonly cwd?: string;
}

/** A package a job needs: an uploaded blob (a .tgz/.tar file or a folder), by path under the root. */
export interface PackageSpec {
  readonly name: string;
  readonly sha256: string;
  /** Relative to the agent root, e.g. `bosh/blobs/<sha256>`. */
  readonly path: string;
}

/** One job as the director rendered it for this instance. Templates and properties may hold secrets. */
export interface JobSpec {
  readonly name: string;
  /** Path relative to jobs/<job>/ → rendered content. Files under bin/ are made executable. */
  readonly templates: Readonly<Record<string, string>>;
  readonly packages: readonly PackageSpec[];
  readonly processes: readonly ProcessSpec[];
  /** Properties the job needs at runtime, written to jobs/<job>/.bosh/properties.json (mode 0600). */
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface ApplyRequest {
  readonly jobs: readonly JobSpec[];
}

export interface ApplyValue {
  /** Jobs whose content changed (their running processes are restarted). */
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
  /** Jobs no longer in the spec: stopped and removed. */
  readonly removed: readonly string[];
}

export type ProcessState = 'running' | 'failing' | 'stopped' | 'starting';

export interface ProcessStatus {
  readonly name: string;
  readonly state: ProcessState;
  readonly pid: number | null;
  /** Restarts after crashes since the process was last started on purpose. */
  readonly restarts: number;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null } | null;
}

export interface JobStatus {
  readonly name: string;
  readonly state: ProcessState;
  /** The content hash of the applied job. */
  readonly hash: string;
  readonly processes: readonly ProcessStatus[];
}

/** BOSH's vitals shape (bosh-agent reports numbers as strings). */
export interface Vitals {
  readonly load: readonly [string, string, string];
  readonly cpu: { readonly user: string; readonly sys: string; readonly wait: string };
  readonly mem: { readonly kb: string; readonly percent: string };
  readonly swap: { readonly kb: string; readonly percent: string };
  readonly disk: {
    readonly system: DiskUse;
    readonly ephemeral: DiskUse;
    readonly persistent?: DiskUse;
  };
  readonly uptime: { readonly secs: number };
}

export interface DiskUse {
  readonly percent: string;
  readonly inode_percent: string;
}

export interface GetStateRequest {
  readonly vitals?: boolean;
}

export interface AgentStateValue {
  /** running only when every process runs; stopped when nothing runs; else the worst state. */
  readonly state: ProcessState;
  readonly jobs: readonly JobStatus[];
  readonly vitals?: Vitals;
}

export interface StartRequest {
  /** How long to wait for processes to leave `starting` (default 30). */
  readonly timeoutSeconds?: number;
}

export interface StopRequest {
  /** Seconds between SIGTERM and SIGKILL, per process (default 10). */
  readonly graceSeconds?: number;
  readonly timeoutSeconds?: number;
}

export interface DrainRequest {
  /** `shutdown` (job_shutdown) or `update` (job_changed/job_unchanged for each job). */
  readonly type: 'shutdown' | 'update';
  /** For `update`: the jobs whose spec changes. */
  readonly changedJobs?: readonly string[];
  /** For `update`: the packages that change (passed to drain scripts as extra arguments). */
  readonly changedPackages?: readonly string[];
  /** Upper bound on the total wait a drain script may ask for (default 600). */
  readonly maxWaitSeconds?: number;
}

export interface DrainValue {
  readonly jobs: readonly {
    readonly name: string;
    /** How many times the drain script ran (more than one with dynamic draining). */
    readonly calls: number;
    /** The total seconds waited as the script asked. */
    readonly waitedSeconds: number;
  }[];
}

/**
 * The CPI's disk hint. `path` (local CPI): a folder under the root that holds the disk, made
 * visible at <root>/store — or at <root>/store_migration_target when another disk is already at
 * store/ (BOSH's way of moving data to a new disk). `lun` (Azure CPI, with `host_device_id`): the
 * folder store-disks/lun<N> under the root if there is one (a VM a local hypervisor booted), else
 * the device /dev/disk/azure/scsi1/lun<N>, formatted ext4 if blank and mounted there. `device`
 * alone: not supported.
 */
export interface MountDiskRequest {
  readonly diskCid: string;
  readonly hint: {
    readonly path?: string;
    readonly device?: string;
    readonly lun?: string | number;
    readonly host_device_id?: string;
  };
}

export interface MountDiskValue {
  /** `store` or `store_migration_target`, relative to the root. */
  readonly mountPoint: string;
  readonly alreadyMounted: boolean;
}

export interface UnmountDiskRequest {
  readonly diskCid: string;
}

export interface UnmountDiskValue {
  readonly unmounted: boolean;
}

/** Copies store/ (disk `fromCid`) onto store_migration_target/ (disk `toCid`), then puts `toCid` at store/. */
export interface MigrateDiskRequest {
  readonly fromCid: string;
  readonly toCid: string;
}

export interface MigrateDiskValue {
  readonly copiedEntries: number;
}

export interface RunErrandRequest {
  readonly job: string;
  readonly args?: readonly string[];
  readonly timeoutSeconds?: number;
}

export interface RunErrandValue {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

export interface FetchLogsRequest {
  /** Only these jobs' log folders (default: all of sys/log). */
  readonly jobs?: readonly string[];
}

export interface FetchLogsValue {
  readonly bytes: number;
  readonly sha256: string;
  readonly files: number;
}

export type ScriptName = 'pre-start' | 'post-start' | 'post-deploy';

export interface RunScriptRequest {
  readonly name: ScriptName;
  readonly timeoutSeconds?: number;
}

export interface RunScriptValue {
  /** Jobs that have the script, with its exit code (all 0 on success). */
  readonly jobs: readonly { readonly name: string; readonly exitCode: number }[];
}

/** bosh/settings.json: what the agent knows about its VM. Holds no secrets. */
export interface AgentSettingsFile {
  readonly agentId: string;
  readonly [key: string]: unknown;
}

/** The desired state the agent hands the supervisor (sys/run/desired.json). */
export interface SupervisorDesired {
  /** Bumped by every change; the supervisor reports the last one it acted on. */
  readonly generation: number;
  readonly graceSeconds: number;
  readonly jobs: readonly {
    readonly name: string;
    readonly hash: string;
    readonly started: boolean;
    readonly processes: readonly ProcessSpec[];
  }[];
}

/** What the supervisor records (sys/run/state.json); get_state reads it. */
export interface SupervisorState {
  readonly pid: number;
  /** The desired generation the supervisor has fully acted on. */
  readonly generation: number;
  readonly updatedAt: string;
  readonly jobs: readonly JobStatus[];
}
