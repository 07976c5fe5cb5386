import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { varOptions } from './options.js';

const load = () => import('../actions/interpolate.js');

export function registerInterpolate(program: Command, io: CliIo): void {
  varOptions(
    program
      .command('interpolate')
      .alias('int')
      .description('Interpolate ops-files and variables into a manifest, as bosh int does')
      .argument('<path>', "the manifest ('-' for standard input)")
      .option('--var-errs', 'expect all variables to be found, otherwise error')
      .option('--var-errs-unused', 'expect all variables to be used, otherwise error')
      .option('--path <op-path>', 'extract the value at this path (e.g. /private_key)'),
  ).action(lazy(io, load, 'interpolate'));
}
