import { processIo, type CliIo } from './io.js';

/**
 * The CLI for `director int` (and `interpolate`) alone. bin/director.js runs it from one file
 * that `npm run build` bundles (dist/cli/int-main.js, commander included): `int` is run in
 * scripts and loops, and loading the sixty-odd modules of its path one by one cost more than its
 * work on a large manifest. The argv is parsed by commander with the `interpolate` command
 * registered as the full CLI registers it, so every argv that starts with `int` is answered
 * exactly as `main` answers it.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [{ runProgram }, { registerInterpolate }] = await Promise.all([
    import('./program.js'),
    import('./commands/interpolate.js'),
  ]);
  // The full CLI's program reads its own options positionally (see commands/housekeeping.ts):
  // `int m.yml -V` is then an unknown option of `int`, not the director's version.
  return runProgram(argv, io, [(program) => program.enablePositionalOptions(), registerInterpolate]);
}
