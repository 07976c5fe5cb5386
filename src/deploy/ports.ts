import type { RenderedJob } from '../plan/plan.js';

/** What a job's processes are doing, as the agent reports it. */
export type ProcessState = 'running' | 'failing' | 'starting' | 'stopped' | 'unknown';

export interface AgentJobState {
  readonly name: string;
  readonly state: ProcessState;
  readonly processes: readonly {
    readonly name: string;
    readonly state: ProcessState;
    readonly pid?: number;
    readonly restarts?: number;
  }[];
}

export interface AgentState {
  /** The instance's overall state: running only when every process runs. */
  readonly state: ProcessState;
  readonly jobs: readonly AgentJobState[];
  readonly vitals?: Readonly<Record<string, unknown>>;
}

/** Settings the agent keeps for its VM (bosh/settings.json). Holds no secrets. */
export interface AgentSettings {
  readonly agentId: string;
  readonly directorUuid: string;
  readonly deployment: string;
  readonly instance: {
    readonly group: string;
    readonly index: number;
    readonly id: string;
    readonly az: string | null;
    readonly bootstrap: boolean;
  };
  readonly networks: Readonly<Record<string, { readonly ip: string | null }>>;
  readonly vmCid: string;
}

/**
 * The deploy engine's view of one VM's agent: the narrow port the SSH agent client is adapted to.
 * Every call may fail with the client's typed errors (timeout, host key, auth, command).
 */
export interface InstanceAgent {
  /** Uploads the agent and its settings (content-addressed; unchanged files are not sent). */
  bootstrap(settings: AgentSettings): Promise<void>;
  /** Installs the rendered jobs and their packages; applying the same jobs twice changes nothing. */
  apply(jobs: readonly RenderedJob[]): Promise<void>;
  runScript(name: 'pre-start' | 'post-start' | 'post-deploy'): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs the jobs' drain scripts and waits as they ask. */
  drain(): Promise<void>;
  getState(opts?: { vitals?: boolean }): Promise<AgentState>;
  mountDisk(diskCid: string, hint: unknown): Promise<void>;
  unmountDisk(diskCid: string): Promise<void>;
  /** Copies the persistent data of `fromCid` onto `toCid` (both mounted). */
  migrateDisk(fromCid: string, toCid: string): Promise<void>;
  /** Runs a job's errand (bin/run), handing its output over as it arrives; resolves with its exit code. */
  runErrand(
    job: string,
    onOutput: (stream: 'stdout' | 'stderr', data: string) => void,
  ): Promise<{ readonly exitCode: number | null; readonly signal: string | null }>;
  /** A .tgz of the VM's job logs (of `jobs` only when given). */
  fetchLogs(jobs?: readonly string[]): Promise<Buffer>;
}

/** How the engine reaches a VM's agent: by address, verifying the host key it generated. */
export interface AgentDialer {
  /** `instance` (`worker/uuid (2)`) names the VM in the agent's errors beside its agent id. */
  agent(vm: {
    readonly address: string;
    readonly hostPublicKey: string;
    readonly agentId: string;
    readonly instance?: string;
  }): InstanceAgent;
  /** Closes every connection opened during the task. */
  closeAll(): Promise<void>;
}

/** Makes the host key pair the director gives each VM (so no host key is ever trusted on first use). */
export interface HostKeyMaker {
  make(): { readonly privateKey: string; readonly publicKey: string };
}
