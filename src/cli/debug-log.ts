import type { Cpi } from '../../cpi/contract.js';
import type { AgentDialer, InstanceAgent } from '../deploy/ports.js';
import { formatErrorChain } from '../errors.js';
import type { RenderedJob } from '../plan/plan.js';

/**
 * Where a command's debug lines go: the task it is running (`task N --debug` reads them back),
 * or nowhere between tasks. The CLI's composition root makes one per command; runTask points it
 * at its task for the task's duration.
 */
export interface DebugSink {
  write(line: string): void;
}

export class TaskDebugSink implements DebugSink {
  private target: ((line: string) => void) | undefined;

  /** Sends lines to `target` until the returned function is called. */
  attach(target: (line: string) => void): () => void {
    this.target = target;
    return () => {
      if (this.target === target) this.target = undefined;
    };
  }

  write(line: string): void {
    this.target?.(line);
  }
}

const SECRET_KEY = /pass(word)?|secret|private_?key|token|credential|^key$|certificate|settings_?blob/i;
const MAX = 2000;

/**
 * A value as the debug log shows it: JSON, with every value under a key that may hold a secret
 * replaced by `<redacted>` (the store also redacts the deployment's generated values), and long
 * texts cut.
 */
export function debugValue(v: unknown): string {
  let text: string;
  try {
    text =
      JSON.stringify(v, (key, value: unknown) => {
        if (key && SECRET_KEY.test(key) && value !== null && value !== undefined && typeof value !== 'boolean')
          return '<redacted>';
        if (
          Buffer.isBuffer(value) ||
          (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer')
        )
          return `<${(value as Buffer).length ?? '?'} bytes>`;
        if (typeof value === 'function') return '<function>';
        return value;
      }) ?? 'undefined';
  } catch {
    text = '<unprintable>';
  }
  return text.length > MAX ? `${text.slice(0, MAX)}... (${text.length} characters)` : text;
}

const ms = (start: bigint) => `${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`;

/** Logs `call` as `<what> request: args`, then its response or its whole error chain, with the time it took. */
async function logged<T>(sink: DebugSink, what: string, args: readonly unknown[], call: () => Promise<T>): Promise<T> {
  sink.write(`${what} request: ${debugValue(args)}`);
  const start = process.hrtime.bigint();
  try {
    const result = await call();
    sink.write(`${what} response (${ms(start)}): ${debugValue(result)}`);
    return result;
  } catch (err) {
    sink.write(`${what} failed (${ms(start)}): ${formatErrorChain(err)}`);
    throw err;
  }
}

const CPI_NAMES: Readonly<Record<string, string>> = {
  info: 'info',
  createStemcell: 'create_stemcell',
  deleteStemcell: 'delete_stemcell',
  createVm: 'create_vm',
  deleteVm: 'delete_vm',
  hasVm: 'has_vm',
  rebootVm: 'reboot_vm',
  setVmMetadata: 'set_vm_metadata',
  createDisk: 'create_disk',
  deleteDisk: 'delete_disk',
  attachDisk: 'attach_disk',
  detachDisk: 'detach_disk',
  hasDisk: 'has_disk',
  getDisks: 'get_disks',
  resizeDisk: 'resize_disk',
  snapshotDisk: 'snapshot_disk',
  deleteSnapshot: 'delete_snapshot',
  calculateVmCloudProperties: 'calculate_vm_cloud_properties',
};

/** The CPI with every call written to `sink`: its method (as BOSH names it), arguments, duration and answer. */
export function debugCpi(cpi: Cpi, sink: DebugSink): Cpi {
  return new Proxy(cpi, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || !(prop in CPI_NAMES)) return v;
      return (...args: unknown[]) =>
        logged(sink, `CPI '${CPI_NAMES[prop]}'`, args, () =>
          (v as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
    },
  });
}

function renderedJobsShown(jobs: unknown): unknown {
  if (!Array.isArray(jobs)) return '<jobs>';
  return (jobs as RenderedJob[]).map((j) => ({
    name: j.name,
    release: `${j.release}/${j.releaseVersion}`,
    templates: Object.keys(j.templates ?? {}),
    packages: Object.keys(j.packages ?? {}),
    digest: j.digest,
  }));
}

const AGENT_NAMES: Readonly<Record<string, string>> = {
  bootstrap: 'bootstrap',
  apply: 'apply',
  runScript: 'run_script',
  start: 'start',
  stop: 'stop',
  drain: 'drain',
  getState: 'get_state',
  mountDisk: 'mount_disk',
  unmountDisk: 'unmount_disk',
  migrateDisk: 'migrate_disk',
  runErrand: 'run_errand',
  fetchLogs: 'fetch_logs',
};

/** The agent dialer with every agent command written to `sink`: the instance, command, arguments, duration and answer. */
export function debugAgents(agents: AgentDialer, sink: DebugSink): AgentDialer {
  return {
    agent(vm) {
      const agent = agents.agent(vm);
      const who = vm.instance ? `instance '${vm.instance}' (agent ${vm.agentId})` : `agent ${vm.agentId}`;
      return new Proxy(agent, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function' || typeof prop !== 'string' || !(prop in AGENT_NAMES)) return v;
          // Rendered templates may hold secrets ("never log"): apply is shown as its jobs' names, template paths and packages.
          const shown = (args: unknown[]) => (prop === 'apply' ? [renderedJobsShown(args[0])] : args);
          return (...args: unknown[]) =>
            logged(sink, `Agent '${AGENT_NAMES[prop]}' to ${who}`, shown(args), () =>
              (v as (...a: unknown[]) => Promise<unknown>).apply(target, args),
            );
        },
      }) as InstanceAgent;
    },
    closeAll: () => agents.closeAll(),
  };
}

const sinks = new WeakMap<object, TaskDebugSink>();

/**
 * The debug sink of the commands that share `store`: the composition root wraps the CPI and
 * agents with it, and runTask points it at each task it runs on that store.
 */
export function debugSinkFor(store: object): TaskDebugSink {
  let sink = sinks.get(store);
  if (!sink) sinks.set(store, (sink = new TaskDebugSink()));
  return sink;
}
