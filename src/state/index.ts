export type {
  StateStore,
  EnvironmentState,
  CloudConfigState,
  StemcellState,
  ReleaseState,
  DeploymentState,
  VariableState,
  InstanceStateStore,
  VmStateStore,
  DiskStateStore,
  IpReservationState,
  TaskLog,
  LockTable,
  StateSnapshot,
} from './state-store.js';
export { deploymentLock, ENVIRONMENT_LOCK } from './state-store.js';
export type * from './records.js';
export type { JsonObject, JsonValue } from './json.js';
export { LockError, StateConflictError, StateError, StateSchemaError, describeLockHolder } from './errors.js';
export type { LockHolderInfo } from './errors.js';
export { openStateStore } from './sqlite-state-store.js';
export type { OpenStateStoreOptions } from './sqlite-state-store.js';
export { systemProcessProbe, processStartTime } from './process-probe.js';
export type { ProcessProbe } from './process-probe.js';
export type { Migration } from './migrations/migration.js';
export { migrations } from './migrations/index.js';
export { canonicalJson, jsonSha256 } from './canonical-json.js';
export { openPostgresStateStore, isPostgresUrl, displayUrl, localName } from './postgres-state-store.js';
export type { OpenPostgresStateOptions } from './postgres-state-store.js';
export { openState } from './open-state.js';
export { stateListing } from './listing.js';
