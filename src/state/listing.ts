import type { StateStore } from './state-store.js';

/**
 * What the listings of a state show (environment, cloud-configs, stemcells, releases, and per
 * deployment its instances, VMs, disks, variables and IP reservations, orphaned disks, tasks
 * with their events), as one plain value: two states list alike exactly when these are equal.
 * Used to check a state moved between SQLite and PostgreSQL.
 */
export function stateListing(store: StateStore): unknown {
  const env = store.environment.get();
  return {
    environment: env ?? null,
    cloudConfigs: store.cloudConfigs.list(),
    stemcells: store.stemcells.list(),
    releases: store.releases.list(),
    deployments: store.deployments.list().map((d) => ({
      ...d,
      instances: store.instances.list(d.name).map((i) => ({ ...i, disks: store.disks.listByInstance(i.uuid) })),
      vms: store.vms.listByDeployment(d.name),
      variables: store.variables.list(d.name),
      ips: store.ips.list({ deployment: d.name }),
    })),
    vms: store.vms.list(),
    orphanedDisks: store.disks.listOrphaned(),
    tasks: store.tasks
      .list()
      .map((t) => ({ ...t, events: store.tasks.events(t.id), debug: store.tasks.debugLog(t.id) })),
  };
}
