import { CallLog } from './call-log.js';
import type { AgentDialer, AgentSettings, AgentState, InstanceAgent } from '../../src/deploy/ports.js';
import type { RenderedJob } from '../../src/plan/plan.js';

/** The agent calls the deploy engine makes, by `InstanceAgent` method name. */
export type AgentMethod =
  | 'bootstrap'
  | 'apply'
  | 'runScript'
  | 'start'
  | 'stop'
  | 'drain'
  | 'getState'
  | 'mountDisk'
  | 'unmountDisk'
  | 'migrateDisk'
  | 'runErrand'
  | 'fetchLogs';

/** Injected latency per agent method (ms); a method not named takes `other`. */
export type AgentDelays = { readonly other: number } & Partial<Readonly<Record<AgentMethod, number>>>;

/**
 * An agent dialer whose agents answer like `inner`'s, `delays[method]` later (as agents on
 * distant VMs would), counting every call by method. The delay comes after the inner call, so a
 * job's processes have the whole delay to come up, as they would while a real start returns.
 */
export class DelayingAgentDialer implements AgentDialer {
  /** Every call (scripts by name), with the time the inner agent took (the delay excluded). */
  readonly log = new CallLog<AgentMethod | `runScript ${string}`>();
  /** The same calls keyed `<tag> <method>`, for agents `tagOf` names (e.g. by instance group). */
  readonly tagged = new CallLog<string>();

  constructor(
    private readonly inner: AgentDialer,
    private readonly delays: AgentDelays,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly tagOf: (address: string) => string | undefined = () => undefined,
  ) {}

  agent(vm: { readonly address: string; readonly hostPublicKey: string; readonly agentId: string }): InstanceAgent {
    const agent = this.inner.agent(vm);
    const tag = this.tagOf(vm.address);
    const call = async <T>(
      method: AgentMethod,
      work: () => Promise<T>,
      key: AgentMethod | `runScript ${string}` = method,
    ): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        const ms = performance.now() - t0;
        this.log.record(key, ms);
        if (tag !== undefined) this.tagged.record(`${tag} ${key}`, ms);
        await this.sleep(this.delays[method] ?? this.delays.other);
      }
    };
    // Not returned as a literal, so this builds against the port with or without its newest members.
    const wrapped = {
      bootstrap: (settings: AgentSettings) => call('bootstrap', () => agent.bootstrap(settings)),
      apply: (jobs: readonly RenderedJob[]) => call('apply', () => agent.apply(jobs)),
      runScript: (name: 'pre-start' | 'post-start' | 'post-deploy') =>
        call('runScript', () => agent.runScript(name), `runScript ${name}`),
      start: () => call('start', () => agent.start()),
      stop: () => call('stop', () => agent.stop()),
      drain: () => call('drain', () => agent.drain()),
      getState: (opts?: { vitals?: boolean }): Promise<AgentState> => call('getState', () => agent.getState(opts)),
      mountDisk: (diskCid: string, hint: unknown) => call('mountDisk', () => agent.mountDisk(diskCid, hint)),
      unmountDisk: (diskCid: string) => call('unmountDisk', () => agent.unmountDisk(diskCid)),
      migrateDisk: (fromCid: string, toCid: string) => call('migrateDisk', () => agent.migrateDisk(fromCid, toCid)),
      runErrand: (job: string, onOutput: (stream: 'stdout' | 'stderr', data: string) => void) =>
        call('runErrand', () => agent.runErrand(job, onOutput)),
      fetchLogs: (jobs?: readonly string[]) => call('fetchLogs', () => agent.fetchLogs(jobs)),
    };
    return wrapped;
  }

  closeAll(): Promise<void> {
    return this.inner.closeAll();
  }
}
