import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { lazy } from './lazy.js';
import { envOptions, gatewayOptions } from './options.js';

const load = () => import('../actions/lifecycle.js');
const collect = (v: string, prev: string[] = []) => [...prev, v];

function deploymentCommand(program: Command, name: string, description: string): Command {
  return envOptions(
    program
      .command(name)
      .description(description)
      .option('-d, --deployment <name>', 'deployment name, or $DIRECTOR_DEPLOYMENT'),
  );
}

/** The deployment lifecycle beyond deploy: listings, start/stop/restart/recreate, delete, cloud-check, errands, ssh, logs. */
export function registerLifecycle(program: Command, io: CliIo): void {
  deploymentCommand(program, 'instances', 'List the instances of each deployment (bosh instances)')
    .alias('is')
    .option('-p, --ps', 'show the processes of each instance')
    .option('-i, --details', 'show VM, disk and agent details')
    .option('-f, --failing', 'only instances whose processes are not all running (and their processes)')
    .option('--vitals', "show load, CPU, memory and disk use of each instance's VM")
    .action(lazy(io, load, 'instances'));

  deploymentCommand(
    program,
    'errands',
    "List the deployment's errands (instance groups with lifecycle: errand)",
  ).action(lazy(io, load, 'errands'));

  deploymentCommand(program, 'manifest', 'Print the manifest as deployed (ops applied, variables not resolved)')
    .alias('man')
    .action(lazy(io, load, 'manifest'));

  deploymentCommand(program, 'events', 'List task events, newest first (bosh events)')
    .option('--task <id>', 'only events of this task')
    .option('--instance <group/id>', 'only events naming this instance')
    .option('--action <state>', 'only events in this state (started, finished, failed)')
    .action(lazy(io, load, 'events'));

  deploymentCommand(program, 'variables', "List the deployment's generated variables: names and ids, never values")
    .alias('vars')
    .action(lazy(io, load, 'variables'));

  for (const [verb, text] of [
    ['start', 'Start the jobs of a deployment, a group or an instance (a detached one gets its VM back)'],
    ['stop', 'Stop the jobs of a deployment, a group or an instance'],
    ['restart', 'Stop and start the jobs of a deployment, a group or an instance'],
    ['recreate', 'Recreate the VMs of a deployment, a group or an instance'],
  ] as const) {
    const cmd = deploymentCommand(program, verb, text)
      .argument('[instance]', 'GROUP, GROUP/INDEX or GROUP/ID (default: every instance)')
      .option('-n, --non-interactive', 'do not ask for confirmation')
      .option('--skip-drain', 'do not run drain scripts')
      .option('--canaries <n>', "override the manifest's canaries")
      .option('--max-in-flight <n|n%>', "override the manifest's max_in_flight");
    if (verb === 'stop') cmd.option('--hard', 'delete the VM, keep the persistent disk (state detached)');
    cmd.action(lazy(io, load, verb));
  }

  deploymentCommand(
    program,
    'delete-deployment',
    'Delete a deployment: its VMs, disks, addresses, variables and record',
  )
    .alias('deld')
    .option('-n, --non-interactive', 'do not ask for confirmation')
    .option('--force', 'carry on past unreachable agents and CPI errors')
    .option('--skip-drain', 'do not run drain scripts')
    .action(lazy(io, load, 'deleteDeploymentAction'));

  deploymentCommand(program, 'cloud-check', 'Find missing VMs, unresponsive agents and disk problems, and resolve them')
    .alias('cck')
    .option('-a, --auto', 'apply the recommended resolution to every problem')
    .option('-r, --report', 'only list the problems (exit 1 if there are any)')
    .option('--resolution <name>', 'apply this resolution where it applies (repeatable)', collect, [])
    .action(lazy(io, load, 'cloudCheck'));

  deploymentCommand(
    program,
    'run-errand',
    'Run an errand: create its VM, run it, print its output and exit code, delete the VM',
  )
    .argument('<name>', 'errand instance group')
    .option('--keep-alive', 'keep the errand VM after the run')
    .action(lazy(io, load, 'runErrandAction'));

  gatewayOptions(
    deploymentCommand(program, 'ssh', "SSH to an instance's VM: a command with -c, else an interactive shell")
      .argument('<instance>', 'GROUP/INDEX or GROUP/ID; with -c also GROUP (every instance of it)')
      .option(
        '-c, --command <cmd>',
        'run this command and print its output (on several instances: each line behind its instance)',
      )
      .option('-r, --results', "with -c: print a table of each instance's output and exit code"),
  ).action(lazy(io, load, 'ssh'));

  gatewayOptions(
    deploymentCommand(
      program,
      'logs',
      'Fetch job logs as tarballs in the current folder: of an instance, a group, or the whole deployment',
    )
      .argument('[instance]', 'GROUP/INDEX, GROUP/ID or GROUP (default: every instance)')
      .option('--job <name>', 'only this job (repeatable)', collect, [])
      .option('--dir <path>', 'write the tarball here instead of the current folder')
      .option(
        '-f, --follow',
        'follow the job logs (tail -F over SSH), each line behind its instance, until interrupted',
      )
      .option('--num <n>', 'with -f: start with the last N lines of each log (default 10)'),
  ).action(lazy(io, load, 'logs'));

  deploymentCommand(
    program,
    'kubeconfig',
    'Print the admin kubeconfig of a cfcr deployment (it holds the admin token)',
  ).action(lazy(io, load, 'kubeconfig'));
}
