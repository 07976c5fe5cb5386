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
  for (const register of registers) register(program, io);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs `argv` (without node and script) on a program of `registers`; returns the exit code. */
export async function runProgram(argv: readonly string[], io: CliIo, registers: readonly RegisterCommand[]): Promise<number> {
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

