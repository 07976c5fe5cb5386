import type { AgentDialer, AgentSettings, AgentState, InstanceAgent, ProcessState } from '../../src/deploy/ports.js';
import type { RenderedJob } from '../../src/plan/plan.js';

/** One agent call: which agent (by agent id), which method, and its argument where it names something (a script, a disk). */
export interface AgentCall {
  readonly agentId: string;
  readonly method: string;
}

/**
 * Agents in memory that record every call, for tests of the engine that must not start a VM.
 * Each call is `agentId:method` (`agentId:runScript pre-start`, `agentId:mountDisk disk-3`).
 * Faults are injected by predicate over the call (`failWhen`); `state` decides what get_state
 * answers (running by default). `unreachable()` is agents that never answer.
 */
export class RecordingAgents implements AgentDialer {
  readonly calls: string[] = [];
  /** The settings each agent was bootstrapped with, by agent id. */
  readonly settings = new Map<string, AgentSettings>();
  /** The jobs each agent last applied, by agent id. */
  readonly applied = new Map<string, readonly RenderedJob[]>();
  private readonly faults: { when: (c: AgentCall) => boolean; message: string }[] = [];
  closed = 0;
  /** What get_state answers for an agent. */
  state: (agentId: string) => ProcessState = () => 'running';

  /** Agents that refuse every call, as a VM whose agent does not answer. */
  static unreachable(message = 'connect ECONNREFUSED'): RecordingAgents {
    return new RecordingAgents().failWhen(() => true, message);
  }

  failWhen(when: (c: AgentCall) => boolean, message: string): this {
    this.faults.push({ when, message });
    return this;
  }

  /** The calls made to agents whose id `agentId` picks, method only. */
  of(agentId: string): string[] {
    return this.calls.filter((c) => c.startsWith(`${agentId}:`)).map((c) => c.slice(agentId.length + 1));
  }

  agent(vm: { readonly address: string; readonly hostPublicKey: string; readonly agentId: string }): InstanceAgent {
    const call = async <T>(method: string, answer: () => T): Promise<T> => {
      this.calls.push(`${vm.agentId}:${method}`);
      const fault = this.faults.find((f) => f.when({ agentId: vm.agentId, method }));
      if (fault) throw new Error(fault.message);
      return answer();
    };
    return {
      bootstrap: (settings) => call('bootstrap', () => void this.settings.set(vm.agentId, settings)),
      apply: (jobs) => call('apply', () => void this.applied.set(vm.agentId, jobs)),
      runScript: (name) => call(`runScript ${name}`, () => undefined),
      start: () => call('start', () => undefined),
      stop: () => call('stop', () => undefined),
      drain: () => call('drain', () => undefined),
      getState: () => call('getState', (): AgentState => ({ state: this.state(vm.agentId), jobs: [] })),
      mountDisk: (cid) => call(`mountDisk ${cid}`, () => undefined),
      unmountDisk: (cid) => call(`unmountDisk ${cid}`, () => undefined),
      migrateDisk: (from, to) => call(`migrateDisk ${from} ${to}`, () => undefined),
      runErrand: (job) => call(`runErrand ${job}`, () => ({ exitCode: 0, signal: null })),
      fetchLogs: () => call('fetchLogs', () => Buffer.alloc(0)),
    };
  }

  async closeAll(): Promise<void> {
    this.closed++;
  }
}
