import { digest, type RecordedInstance, type VmShown } from '../plan/instance-plan.js';
import type { JsonObject, StateStore } from '../state/index.js';

/**
 * What the deploy engine writes into an instance's applied spec: the digests a VM was made from
 * (set right after the VM is created) and the jobs last applied (set once they run).
 */
export interface AppliedSpec {
  readonly vm?: {
    readonly agentId: string;
    readonly stemcell: string;
    readonly cloudPropertiesDigest: string;
    readonly networksDigest: string;
    readonly envDigest: string;
    /** What the VM was made from, secrets masked (the plan shows changes from it). */
    readonly shown?: VmShown;
  };
  readonly jobs?: Readonly<Record<string, string>>;
}

export function appliedSpecOf(spec: JsonObject | null): AppliedSpec {
  return (spec ?? {}) as AppliedSpec;
}

/** The recorded instances of a deployment, in the planner's terms. */
export function recordedInstances(store: StateStore, deployment: string): RecordedInstance[] {
  const ips = store.ips.list({ deployment });
  return store.instances.list(deployment).map((i) => {
    const applied = appliedSpecOf(i.appliedSpec);
    const vm = store.vms.listByInstance(i.uuid).find((v) => v.state === 'created' && v.cid !== null);
    const disk = store.disks.listByInstance(i.uuid).find((d) => d.active && d.cid !== null && d.state !== 'orphaned');
    const vmMatches = vm && applied.vm && applied.vm.agentId === vm.agentId;
    return {
      uuid: i.uuid,
      group: i.group,
      index: i.index,
      az: i.az,
      bootstrap: i.bootstrap,
      state: i.state,
      ips: Object.fromEntries(ips.filter((r) => r.instance === i.uuid).map((r) => [r.network, r.ip])),
      ...(vm && vmMatches
        ? {
            vm: {
              cid: vm.cid!,
              stemcell: applied.vm!.stemcell,
              cloudPropertiesDigest: applied.vm!.cloudPropertiesDigest,
              networksDigest: applied.vm!.networksDigest,
              envDigest: applied.vm!.envDigest,
              ...(applied.vm!.shown ? { shown: applied.vm!.shown } : {}),
            },
          }
        : {}),
      ...(disk
        ? {
            disk: {
              cid: disk.cid!,
              size: disk.sizeMb,
              cloudPropertiesDigest: digest(disk.cloudProperties),
              cloudProperties: disk.cloudProperties,
            },
          }
        : {}),
      ...(applied.jobs && vmMatches ? { appliedJobs: applied.jobs } : {}),
    };
  });
}
