import { migration001Initial } from './001-initial.js';
import { migration002LockHolderUser } from './002-lock-holder-user.js';
import { migration003EnvironmentGateway } from './003-environment-gateway.js';
import type { Migration } from './migration.js';

/** Every migration this director knows, in the order they apply. */
export const migrations: readonly Migration[] = [
  migration001Initial,
  migration002LockHolderUser,
  migration003EnvironmentGateway,
];
