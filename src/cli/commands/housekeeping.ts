import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions } from './options.js';

const load = () => import('../actions/housekeeping.js');

/** Stemcells, orphaned disks and clean-up: bosh's housekeeping commands. */
export function registerHousekeeping(program: Command, io: CliIo): void {
  // bosh-cli's `upload-stemcell --version`: without positional options the program's own
  // `--version` would take it (and print the director's version) wherever it stands.
  program.enablePositionalOptions();
  envOptions(
    program
      .command('upload-stemcell')
      .alias('us')
      .description("Upload a stemcell tarball (or an unpacked stemcell folder) to the environment's CPI")
      .argument('<path>', 'stemcell tarball (.tgz with stemcell.MF and image) or folder')
      .option('--name <name>', 'the name the stemcell must have (skips the upload if it exists)')
      .option('--version <version>', 'the version the stemcell must have (skips the upload if it exists)')
      .option('--fix', 'upload again even if it exists, replacing its CID'),
  ).action(lazy(io, load, 'uploadStemcell'));

  envOptions(
    program
      .command('delete-stemcell')
      .description('Delete a stemcell from the cloud and the director')
      .argument('<name/version>', 'the stemcell, e.g. bosh-azure-hyperv-ubuntu-jammy-go_agent/1.506')
      .option('--force', 'delete even while deployments use it, ignoring CPI errors')
      .option('-n, --non-interactive', 'do not ask for confirmation'),
  ).action(lazy(io, load, 'deleteStemcell'));

  envOptions(
    program
      .command('disks')
      .description('List orphaned persistent disks (bosh disks --orphaned)')
      .option('-o, --orphaned', 'list orphaned disks'),
  ).action(lazy(io, load, 'listDisks'));

  envOptions(
    program
      .command('delete-disk')
      .description('Delete an orphaned persistent disk')
      .argument('<cid>', 'the disk CID, as disks --orphaned lists it')
      .option('-n, --non-interactive', 'do not ask for confirmation'),
  ).action(lazy(io, load, 'deleteDisk'));

  envOptions(
    program
      .command('clean-up')
      .description(
        'Delete unused releases and stemcells but the two newest of each; with --all, every unused one and every orphaned disk',
      )
      .option('--all', 'delete every unused release and stemcell, and every orphaned disk')
      .option('-n, --non-interactive', 'do not ask for confirmation'),
  ).action(lazy(io, load, 'cleanUp'));
}
