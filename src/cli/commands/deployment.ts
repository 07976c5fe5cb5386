import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions, varOptions } from './options.js';

const load = () => import('../actions/deployment.js');

export function registerDeployment(program: Command, io: CliIo): void {
  varOptions(
    envOptions(
      program
        .command('deploy')
        .description('Plan a deployment against what is recorded, show the difference, and converge')
        .argument('<manifest>', 'deployment manifest')
        .option('-d, --deployment <name>', 'deployment name, or $DIRECTOR_DEPLOYMENT')
        .option('-n, --non-interactive', 'do not ask for confirmation')
        .option('--recreate', 'recreate every VM, even unchanged ones')
        .option('--skip-drain', 'do not run drain scripts')
        .option('--canaries <n>', "override the manifest's canaries")
        .option('--max-in-flight <n|n%>', "override the manifest's max_in_flight")
        .option('--dry-run', 'show the plan and stop: nothing is written'),
    ),
  ).action(lazy(io, load, 'deploy'));

  envOptions(
    program
      .command('vms')
      .description('List the VMs of each deployment with their process state, as bosh vms does')
      .option('-d, --deployment <name>', 'only this deployment')
      .option('--vitals', 'show load, CPU, memory and disk use'),
  ).action(lazy(io, load, 'vms'));

  envOptions(program.command('deployments').alias('ds').description('List deployments')).action(
    lazy(io, load, 'deployments'),
  );

  envOptions(
    program
      .command('upload-release')
      .alias('ur')
      .description('Upload a release folder to the director')
      .argument('<dir>', 'release folder (release.yml, jobs/, packages/)'),
  ).action(lazy(io, load, 'uploadReleaseAction'));

  envOptions(program.command('releases').alias('rs').description('List uploaded releases')).action(
    lazy(io, load, 'releases'),
  );
}
