import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions } from './options.js';

const load = () => import('../actions/tasks.js');

export function registerTasks(program: Command, io: CliIo): void {
  envOptions(
    program
      .command('tasks')
      .description('List recent tasks (bosh tasks --recent)')
      .option('-r, --recent <n>', 'number of recent tasks to show', '30')
      .option('-d, --deployment <name>', 'only tasks of this deployment')
      .option('-a, --all', 'all tasks, not only the recent ones'),
  ).action(lazy(io, load, 'listTasks'));

  envOptions(
    program
      .command('task')
      .description("Show a task's events, as they were printed live (bosh task N)")
      .argument('<id>', 'task id')
      .option('--event', 'print the raw events, one JSON object per line')
      .option('--debug', 'print the debug log'),
  ).action(lazy(io, load, 'showTask'));

  envOptions(program.command('locks').description('List the locks held by running tasks')).action(lazy(io, load, 'listLocks'));
}
