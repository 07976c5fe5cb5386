import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions } from './options.js';

const load = () => import('../actions/state.js');

/** `state export`, `state import` and `state migrate`: moving an environment's state. */
export function registerState(program: Command, io: CliIo): void {
  const state = program.command('state').description("Move an environment's state between SQLite files and PostgreSQL");
  envOptions(
    state
      .command('export')
      .description('Write every record of the state to FILE (JSON, mode 0600: it holds the credentials)')
      .argument('<file>', 'the export to write'),
  ).action(lazy(io, load, 'exportState'));
  envOptions(
    state
      .command('import')
      .description('Load an export into an empty state (--state PATH|URL), then check it lists as the export does')
      .argument('<file>', 'an export written by state export'),
  ).action(lazy(io, load, 'importState'));
  envOptions(
    state
      .command('migrate')
      .description('Copy the state into another (an empty file or PostgreSQL database) and check both list alike')
      .requiredOption('--to <path-or-url>', 'the state to copy into: a file path or postgres://user@host:5432/db'),
  ).action(lazy(io, load, 'migrateState'));
}
