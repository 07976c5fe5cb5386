import { DirectorError } from '../errors.js';
import type { Director } from './director.js';
import type { Task } from './task.js';

/** One errand instance's outcome, as `bosh run-errand` prints it. */
export interface ErrandResult {
  readonly instance: string;
  readonly job: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunErrandOptions {
  /** Keep the errand VMs after the run (bosh run-errand --keep-alive). */
  readonly keepAlive?: boolean;
  /** Receives the errand's output as it arrives. */
  readonly onOutput?: (instance: string, stream: 'stdout' | 'stderr', data: string) => void;
}

/**
 * `run-errand NAME`: for each instance of the errand group NAME (lifecycle errand), creates its VM,
 * applies its jobs, runs each job that has a `bin/run`, and deletes the VM again unless
 * `keepAlive`. A failed errand is a result (non-zero exit code), not an error; failing to run it is.
 */
export async function runErrand(director: Director, deployment: string, name: string, task: Task, opts: RunErrandOptions = {}): Promise<ErrandResult[]> {
  const prepared = await director.prepareRecorded(deployment);
  const { plan } = prepared;
  const group = plan.groups.find((g) => g.group.name === name);
  if (!group) {
    const errands = plan.groups.filter((g) => g.group.lifecycle === 'errand').map((g) => g.group.name);
    throw new DirectorError(`Deployment '${deployment}' has no errand '${name}' (errands: ${errands.join(', ') || 'none'})`);
  }
  if (group.group.lifecycle !== 'errand') throw new DirectorError(`Instance group '${name}' of deployment '${deployment}' is not an errand (lifecycle: ${group.group.lifecycle})`);
  const { store } = director.services;
  const deployer = director.deployer();
  const results: ErrandResult[] = [];
  try {
    for (const p of group.plans) {
      const d = p.desired!;
      const label = `${d.group}/${d.uuid}`;
      if (!store.instances.get(d.uuid)) {
        store.instances.create({ deployment, group: d.group, index: d.index, uuid: d.uuid, az: d.az, bootstrap: d.bootstrap, state: 'started' });
      }
      const jobs = plan.rendered.get(d.uuid) ?? [];
      const runnable = jobs.filter((j) => 'bin/run' in j.templates);
      if (!runnable.length) throw new DirectorError(`Errand '${name}' has no job with a 'bin/run' script`);
      const alive = store.vms.listByInstance(d.uuid).some((v) => v.state === 'created' && v.cid);
      try {
        const agent = alive
          ? deployer.instanceAgent(d.uuid)
          : await task.step('Creating missing vms', p.label, () => deployer.createInstanceVm(d, plan));
        await task.step('Updating instance', p.label, () => agent.apply(jobs));
        for (const j of runnable) {
          const out = { stdout: '', stderr: '' };
          const v = await task.step('Running errand', p.label, () =>
            agent.runErrand(j.name, (stream, data) => {
              out[stream] += data;
              opts.onOutput?.(label, stream, data);
            }),
          );
          results.push({ instance: label, job: j.name, exitCode: v.exitCode, signal: v.signal, ...out });
        }
      } finally {
        if (!opts.keepAlive && store.vms.listByInstance(d.uuid).length) {
          await task.step(`Deleting errand instances ${d.group}`, p.label, () => deployer.deleteInstanceVms(d.uuid));
        }
      }
    }
  } finally {
    await director.services.agents.closeAll();
  }
  return results;
}
