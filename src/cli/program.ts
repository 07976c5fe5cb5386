import { Command, CommanderError } from 'commander';
import type { CliIo } from './io.js';
import type { RegisterCommand } from './commands/index.js';
import { failed } from './exit-code.js';

export { ExitCode } from './exit-code.js';

/** The `director` program with the given commands registered. */
export function buildProgramWith(io: CliIo, registers: readonly RegisterCommand[]): Command {
  const program = new Command('director')
    .description('A BOSH-style deployment engine: create-env, interpolate, deploy, vms.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  globalOptions(program.enablePositionalOptions());
  for (const register of registers) register(program, io);
  for (const c of program.commands) globalOptions(c).exitOverride();
  return program;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * bosh-cli's global flags, taken before the command (`director -d my-cluster vms`, `director -n
 * deploy ...`, `director -e local --json deployments`) and after it. A command that has a flag of
 * its own by that name keeps its own; commands/lazy.ts merges the program's values into each
 * action's options, and $BOSH_* beside $DIRECTOR_*.
 */
function globalOptions(cmd: Command): Command {
  const has = (flag: string) => cmd.options.some((o) => o.short === flag || o.long === flag);
  const add = (flags: string, description: string, fn?: (v: string, prev?: string[]) => string[]) => {
    const [first, second] = flags.split(/,?\s+/);
    if ([first, second].some((f) => f?.startsWith('-') && has(f))) return;
    if (fn) cmd.option(flags, description, fn);
    else cmd.option(flags, description);
  };
  add(
    '-e, --environment <name>',
    'environment name (state under ~/.director/<name>/), or $DIRECTOR_ENVIRONMENT / $BOSH_ENVIRONMENT',
  );
  add('--state <path|url>', 'state of the environment: a SQLite file or a postgres:// URL');
  add('-d, --deployment <name>', 'deployment name, or $DIRECTOR_DEPLOYMENT / $BOSH_DEPLOYMENT');
  add('-n, --non-interactive', 'do not ask for confirmation ($DIRECTOR_NON_INTERACTIVE / $BOSH_NON_INTERACTIVE=true)');
  add('--json', 'print JSON, as bosh-cli --json does');
  add('--tty', "force TTY-like output (the director's tables always are)");
  add('--no-color', 'no colours (the director prints none)');
  add('--column <header>', 'show only this column of a table (repeatable)', collect);
  return cmd;
}

/** Runs `argv` (without node and script) on a program of `registers`; returns the exit code. */
export async function runProgram(
  argv: readonly string[],
  io: CliIo,
  registers: readonly RegisterCommand[],
): Promise<number> {
  const program = buildProgramWith(io, registers);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed usage errors; --help and --version end with code 0.
      return err.exitCode;
    }
    return failed(err, io);
  }
}
