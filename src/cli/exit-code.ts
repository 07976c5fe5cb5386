import { formatErrorChain } from '../errors.js';
import type { CliIo } from './io.js';

/** Thrown by commands that have printed their own message and only need an exit code. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The exit code of a command that threw `err`; anything but an ExitCode is printed on one line. */
export function failed(err: unknown, io: CliIo): number {
  if (err instanceof ExitCode) return err.code;
  io.stderr.write(`Error: ${formatErrorChain(err)}\n`);
  return 1;
}
