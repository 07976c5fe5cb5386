import { readFile } from 'node:fs/promises';
import { AgentPool } from '../agent-client/agent-pool.js';
import type { AgentClient } from '../agent-client/agent-client.js';
import type { GatewayOptions } from '../agent-client/gateway.js';
import type { RenderedJob } from '../plan/plan.js';
import type { AgentDialer, AgentSettings, AgentState, InstanceAgent } from './ports.js';

export interface SshAgentsOptions {
  /** The director's private key (the environment's SSH key). */
  readonly privateKey: string;
  /** The SSH port of the VMs (2222 on the local CPI, 22 on Azure). */
  readonly port: number;
  /** The bundled agent (dist/agent/agent.cjs). */
  readonly agentBundlePath: string;
  /** Reads a package blob from the director's blobstore by its sha256. */
  readonly readBlob: (sha256: string) => Promise<Buffer>;
  readonly maxConcurrentCommands?: number;
  readonly log?: (line: string) => void;
  /** The gateway every VM is reached through (one connection, a channel per VM); absent: directly. */
  readonly gateway?: GatewayOptions;
}

/** The deploy engine's agent port over the SSH agent client: one pool of connections per task. */
export class SshAgents implements AgentDialer {
  private readonly pool: AgentPool;
  private bundle: Promise<Buffer> | undefined;

  constructor(private readonly opts: SshAgentsOptions) {
    this.pool = new AgentPool({
      privateKey: opts.privateKey,
      maxConcurrentCommands: opts.maxConcurrentCommands ?? 16,
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.gateway ? { gateway: opts.gateway } : {}),
    });
  }

  agent(vm: {
    readonly address: string;
    readonly hostPublicKey: string;
    readonly agentId: string;
    readonly instance?: string;
  }): InstanceAgent {
    const name = vm.instance ? `instance '${vm.instance}' (agent ${vm.agentId})` : vm.agentId;
    const client = this.pool.client(vm.agentId, {
      host: vm.address,
      port: this.opts.port,
      hostPublicKey: vm.hostPublicKey,
      name,
    });
    return new SshInstanceAgent(
      client,
      () => (this.bundle ??= readFile(this.opts.agentBundlePath)),
      this.opts.readBlob,
    );
  }

  closeAll(): Promise<void> {
    return this.pool.closeAll();
  }
}

class SshInstanceAgent implements InstanceAgent {
  constructor(
    private readonly client: AgentClient,
    private readonly bundle: () => Promise<Buffer>,
    private readonly readBlob: (sha256: string) => Promise<Buffer>,
  ) {}

  async bootstrap(settings: AgentSettings): Promise<void> {
    await this.client.bootstrap(await this.bundle(), { ...settings });
  }

  async apply(jobs: readonly RenderedJob[]): Promise<void> {
    const uploaded = new Map<string, string>();
    const pathOf = async (sha256: string): Promise<string> => {
      let p = uploaded.get(sha256);
      if (!p) {
        p = (await this.client.uploadBlob(await this.readBlob(sha256))).path;
        uploaded.set(sha256, p);
      }
      return p;
    };
    const specs = [];
    for (const j of jobs) {
      const packages = [];
      for (const [name, sha256] of Object.entries(j.packages))
        packages.push({ name, sha256, path: await pathOf(sha256) });
      specs.push({ name: j.name, templates: j.templates, packages, processes: j.processes });
    }
    await this.client.apply(specs);
  }

  async runScript(name: 'pre-start' | 'post-start' | 'post-deploy'): Promise<void> {
    await this.client.runScript(name);
  }

  async start(): Promise<void> {
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.client.stop();
  }

  async drain(): Promise<void> {
    await this.client.drain({ type: 'update' });
  }

  async getState(opts: { vitals?: boolean } = {}): Promise<AgentState> {
    const s = await this.client.getState(opts);
    return {
      state: s.state,
      jobs: s.jobs.map((j) => ({
        name: j.name,
        state: j.state,
        processes: j.processes.map((p) => ({
          name: p.name,
          state: p.state,
          ...(p.pid !== null ? { pid: p.pid } : {}),
          restarts: p.restarts,
        })),
      })),
      ...(s.vitals ? { vitals: s.vitals as unknown as Record<string, unknown> } : {}),
    };
  }

  async mountDisk(diskCid: string, hint: unknown): Promise<void> {
    await this.client.mountDisk(diskCid, hint as { path?: string; device?: string });
  }

  async unmountDisk(diskCid: string): Promise<void> {
    await this.client.unmountDisk(diskCid);
  }

  async migrateDisk(fromCid: string, toCid: string): Promise<void> {
    await this.client.migrateDisk(fromCid, toCid);
  }

  async runErrand(
    job: string,
    onOutput: (stream: 'stdout' | 'stderr', data: string) => void,
  ): Promise<{ readonly exitCode: number | null; readonly signal: string | null }> {
    const v = await this.client.runErrand(job, { onOutput });
    return { exitCode: v.exitCode, signal: v.signal };
  }

  async fetchLogs(jobs?: readonly string[]): Promise<Buffer> {
    return (await this.client.fetchLogs(jobs === undefined ? {} : { jobs })).tgz;
  }
}
