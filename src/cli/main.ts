import type { Command } from 'commander';
import { processIo, type CliIo } from './io.js';
import { commands } from './commands/index.js';
import { buildProgramWith, runProgram } from './program.js';

export { ExitCode } from './program.js';

export function buildProgram(io: CliIo): Command {
  return buildProgramWith(io, commands);
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runProgram(argv, io, commands);
}
