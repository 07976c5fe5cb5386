import type { Migration } from './migration.js';

/**
 * Locks name the user of their holder as well as its host and pid, so that an operator refused
 * by a team-mate's lock reads "task 12 (deployer@ci-runner-3, …)". Null in locks taken before.
 */
export const migration002LockHolderUser: Migration = {
  version: 2,
  name: 'lock-holder-user',
  sql: `ALTER TABLE locks ADD COLUMN username TEXT;`,
};
