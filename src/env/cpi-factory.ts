import { join } from 'node:path';
import { azureEnvironmentCpi } from '../../cpi/azure/environment.js';
import { parseLocalCpiConfig } from '../../cpi/local/config.js';
import { localEnvironmentCpi } from '../../cpi/local/environment.js';
import type { EnvironmentCpi } from '../../cpi/environment.js';
import { DirectorError } from '../errors.js';
import type { EnvironmentRecord } from '../state/index.js';

/** The local CPI's root: `properties.root`, else `local/` beside the state file. */
export function localRoot(env: EnvironmentRecord, stateDir: string): string {
  const root = env.cpiProperties['root'];
  return typeof root === 'string' ? root : join(stateDir, 'local');
}

/** Builds the CPI an environment record names, validating its properties. */
export function environmentCpi(env: EnvironmentRecord, stateDir: string): EnvironmentCpi {
  switch (env.cpiType) {
    case 'local':
      return localEnvironmentCpi(parseLocalCpiConfig({ ...env.cpiProperties, root: localRoot(env, stateDir) }), env.directorUuid);
    case 'azure':
      return azureEnvironmentCpi(env.cpiProperties, env.directorUuid);
    default:
      throw new DirectorError(`Environment '${env.name}' uses the '${env.cpiType}' CPI, which this build cannot drive yet`);
  }
}
