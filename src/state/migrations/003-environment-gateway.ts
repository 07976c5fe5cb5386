import type { Migration } from './migration.js';

/**
 * How the director reaches the environment's VMs: through a gateway (a jumpbox create-env made,
 * or one the operator named) or directly. NULL: never said (directly, as before this column).
 */
export const migration003EnvironmentGateway: Migration = {
  version: 3,
  name: 'environment-gateway',
  sql: `ALTER TABLE environment ADD COLUMN gateway_json TEXT CHECK (gateway_json IS NULL OR json_valid(gateway_json));`,
};
