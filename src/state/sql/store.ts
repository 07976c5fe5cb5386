import { createRedactor } from '../redactor.js';
import type { StateStore } from '../state-store.js';
import { cloudConfigState, releaseState, stemcellState } from './catalog.js';
import type { StoreContext } from './database.js';
import { deploymentState, variableState } from './deployments.js';
import { diskState } from './disks.js';
import { environmentState } from './environment.js';
import { instanceState } from './instances.js';
import { ipReservationState } from './ips.js';
import type { Dialect } from './dialect.js';
import { lockTable } from './locks.js';
import { loadSnapshot, takeSnapshot } from './snapshot.js';
import { taskLog } from './tasks.js';
import { vmState } from './vms.js';

/** The store over one SqlDatabase, whichever dialect it speaks. */
export function sqlStateStore(
  path: string,
  localDir: string,
  dialect: Dialect,
  ctx: Omit<StoreContext, 'redactor'>,
  version: number,
  close: () => void,
): StateStore {
  const redactor = createRedactor();
  const full: StoreContext = { ...ctx, redactor };
  return {
    path,
    localDir,
    environment: environmentState(full),
    cloudConfigs: cloudConfigState(full),
    stemcells: stemcellState(full),
    releases: releaseState(full),
    deployments: deploymentState(full),
    variables: variableState(full),
    instances: instanceState(full),
    vms: vmState(full),
    disks: diskState(full),
    ips: ipReservationState(full),
    tasks: taskLog(full),
    locks: lockTable(full),
    transaction: (fn) => ctx.db.transaction(fn),
    redact: (values) => redactor.add(values),
    schemaVersion: () => version,
    snapshot: () => takeSnapshot(ctx.db, version, path),
    restore: (snap) => loadSnapshot(ctx.db, dialect, version, path, snap),
    close,
  };
}
