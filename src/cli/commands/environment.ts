import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions, varOptions } from './options.js';

const load = () => import('../actions/environment.js');

export function registerEnvironment(program: Command, io: CliIo): void {
  varOptions(
    envOptions(
      program
        .command('create-env')
        .description(
          'Create or update an environment: its CPI, identity, stemcell and cloud-config, recorded in its state file',
        )
        .argument('<manifest>', 'environment manifest (manifests/env.yml)')
        .option('-n, --non-interactive', 'do not ask for confirmation'),
    ),
  ).action(lazy(io, load, 'createEnv'));

  envOptions(
    program
      .command('delete-env')
      .description('Delete everything an environment created, and its state')
      .option('--force', 'delete even while deployments exist (their VMs and disks too)')
      .option('-n, --non-interactive', 'do not ask for confirmation'),
  ).action(lazy(io, load, 'deleteEnv'));

  envOptions(program.command('environment').alias('env').description('Show the environment (bosh env)')).action(
    lazy(io, load, 'showEnv'),
  );

  envOptions(program.command('cloud-config').alias('cc').description('Show the current cloud-config')).action(
    lazy(io, load, 'showCloudConfig'),
  );

  varOptions(
    envOptions(
      program
        .command('update-cloud-config')
        .alias('ucc')
        .description('Record a new cloud-config version')
        .argument('<path>', 'cloud-config file')
        .option('-n, --non-interactive', 'do not ask for confirmation'),
    ),
  ).action(lazy(io, load, 'updateCloudConfig'));

  envOptions(program.command('stemcells').description('List the stemcells of the environment')).action(
    lazy(io, load, 'listStemcells'),
  );
}
