import { Command, CommanderError } from 'commander';
import { formatErrorChain } from '../errors.js';
import { processIo, type CliIo } from './io.js';
import { commands } from './commands/index.js';

/** Thrown by commands that have printed their own message and only need an exit code. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('director')
    .description('A BOSH-style deployment engine: create-env, interpolate, deploy, vms.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  for (const register of commands) register(program, io);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof ExitCode) return err.code;
    if (err instanceof CommanderError) {
      // commander has already printed usage errors; --help and --version end with code 0.
      return err.exitCode;
    }
    io.stderr.write(`Error: ${formatErrorChain(err)}\n`);
    return 1;
  }
}
