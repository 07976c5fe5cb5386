import type { Cpi } from '../../cpi/contract.js';
import type { AgentDialer, InstanceAgent } from './ports.js';

/** CPI methods that change the cloud (everything but info, has_vm, has_disk, get_disks). */
export const MUTATING_CPI_METHODS: ReadonlySet<string> = new Set([
  'createStemcell',
  'deleteStemcell',
  'createVm',
  'deleteVm',
  'rebootVm',
  'setVmMetadata',
  'createDisk',
  'deleteDisk',
  'attachDisk',
  'detachDisk',
  'resizeDisk',
  'snapshotDisk',
  'deleteSnapshot',
]);

/** Agent calls that change a VM (everything but get_state and fetch_logs). */
export const MUTATING_AGENT_METHODS: ReadonlySet<string> = new Set([
  'bootstrap',
  'apply',
  'runScript',
  'start',
  'stop',
  'drain',
  'mountDisk',
  'unmountDisk',
  'migrateDisk',
  'runErrand',
]);

/** Calls made through the counting ports, by `cpi.<method>` and `agent.<method>`. */
export class CallCounter {
  readonly calls = new Map<string, number>();
  /** Agent calls by `agent.<method>` → the addresses of the VMs they went to, in call order. */
  readonly targets = new Map<string, string[]>();

  add(key: string, target?: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    if (target !== undefined) this.targets.set(key, [...(this.targets.get(key) ?? []), target]);
  }

  /** How many calls that change the cloud or a VM were made (optionally only CPI or agent ones). */
  mutating(kind?: 'cpi' | 'agent'): number {
    let n = 0;
    for (const [key, count] of this.calls) {
      const [k, method] = key.split('.') as [string, string];
      if (kind && k !== kind) continue;
      if ((k === 'cpi' ? MUTATING_CPI_METHODS : MUTATING_AGENT_METHODS).has(method)) n += count;
    }
    return n;
  }

  reset(): void {
    this.calls.clear();
    this.targets.clear();
  }
}

function counting<T extends object>(target: T, prefix: string, counter: CallCounter, address?: string): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        counter.add(`${prefix}.${prop}`, address);
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

/** The CPI, counting every call into `counter` (the seam tests use to prove a no-op deploy is one). */
export function countingCpi(cpi: Cpi, counter: CallCounter): Cpi {
  return counting(cpi, 'cpi', counter);
}

/** The agent dialer, counting every call to every agent it hands out. */
export function countingAgents(dialer: AgentDialer, counter: CallCounter): AgentDialer {
  return {
    agent: (vm) => counting<InstanceAgent>(dialer.agent(vm), 'agent', counter, vm.address),
    closeAll: () => dialer.closeAll(),
  };
}
