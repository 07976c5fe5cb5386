import { registerInterpolate } from './commands/interpolate.js';
import { processIo, type CliIo } from './io.js';
import { runProgram } from './program.js';

/**
 * The CLI for `director int` (and `interpolate`) alone. bin/director.js runs it from one file
 * that `npm run build` bundles (dist/cli/int.js): `int` is run in scripts and loops, and loading
 * the sixty-odd modules of its path one by one cost more than its work on a large manifest.
 * Its only command is `interpolate`, registered as the full CLI registers it, so it parses,
 * prints help and fails exactly as `main` does for an argv that starts with `int`.
 */
export function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runProgram(argv, io, [registerInterpolate]);
}

