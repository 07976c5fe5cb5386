import { Option, type Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions } from './options.js';

const load = () => import('../actions/tasks.js');

export function registerTasks(program: Command, io: CliIo): void {
  envOptions(
    program
      .command('tasks')
      .description('List recent tasks (bosh tasks --recent)')
      .addOption(
        new Option('-r, --recent [n]', 'number of recent tasks to show (--recent alone: 30, as bosh-cli)')
          .default('30')
          .preset('30'),
      )
      .option('-d, --deployment <name>', 'only tasks of this deployment')
      .option('-a, --all', 'all tasks, not only the recent ones'),
  ).action(lazy(io, load, 'listTasks'));

  envOptions(
    program
      .command('task')
      .description("Show a task's events, as they were printed live (bosh task N); without an id, the last task")
      .argument('[id]', 'task id (default: the last task)')
      .option('--event', 'print the raw events, one JSON object per line')
      .option(
        '--debug',
        'print the debug log: CPI calls and agent commands with their arguments and durations, the error chain (secrets redacted)',
      )
      .option('--cpi', 'print only the CPI calls of the debug log')
      .option('--result', "print the task's result"),
  ).action(lazy(io, load, 'showTask'));

  envOptions(
    program
      .command('cancel-task')
      .alias('ct')
      .description('Cancel a queued task, or stop a running one (its process is interrupted, as Ctrl-C does)')
      .argument('<id>', 'task id'),
  ).action(lazy(io, load, 'cancelTask'));

  envOptions(program.command('locks').description('List the locks held by running tasks')).action(
    lazy(io, load, 'listLocks'),
  );
}
