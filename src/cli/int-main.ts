import { interpolate } from './actions/interpolate.js';
import type { VarFlagValues } from './commands/options.js';
import { failed } from './exit-code.js';
import { processIo, type CliIo } from './io.js';

/**
 * The CLI for `director int` (and `interpolate`) alone. bin/director.js runs it from one file
 * that `npm run build` bundles (dist/cli/int-main.js): `int` is run in scripts and loops, and
 * loading the sixty-odd modules of its path one by one cost more than its work on a large
 * manifest. An argv in the plain forms below runs the action directly; anything else (help,
 * `--flag=value`, `-oVALUE`, `--`, a missing or extra path, an unknown option) goes to commander,
 * loaded then, with the `interpolate` command registered as the full CLI registers it, so every
 * argv that starts with `int` is answered exactly as `main` answers it.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const call = plainCall(argv);
  if (call === undefined) {
    const [{ runProgram }, { registerInterpolate }] = await Promise.all([import('./program.js'), import('./commands/interpolate.js')]);
    // The full CLI's program reads its own options positionally (see commands/housekeeping.ts):
    // `int m.yml -V` is then an unknown option of `int`, not the director's version.
    return runProgram(argv, io, [(program) => program.enablePositionalOptions(), registerInterpolate]);
  }
  try {
    await interpolate(io)(call.path, call.options);
    return 0;
  } catch (err) {
    return failed(err, io);
  }
}

type Options = VarFlagValues & { varErrs?: boolean; varErrsUnused?: boolean; path?: string };

/** The options of `int` that take a value (commander takes the next argument, whatever it is). */
const VALUED: Readonly<Record<string, 'opsFile' | 'var' | 'varFile' | 'varsFile' | 'varsEnv' | 'varsStore' | 'path'>> = {
  '-o': 'opsFile',
  '--ops-file': 'opsFile',
  '-v': 'var',
  '--var': 'var',
  '--var-file': 'varFile',
  '-l': 'varsFile',
  '--vars-file': 'varsFile',
  '--vars-env': 'varsEnv',
  '--vars-store': 'varsStore',
  '--path': 'path',
};

/**
 * What commander makes of `int PATH [options]` when every option is written as a separate
 * `--name value` (or a flag), or undefined for any other argv. Repeatable options collect in
 * order; `--vars-store` and `--path` keep the last value, as commander does.
 */
export function plainCall(argv: readonly string[]): { path: string; options: Options } | undefined {
  if (argv[0] !== 'int' && argv[0] !== 'interpolate') return undefined;
  const lists = { opsFile: [] as string[], var: [] as string[], varFile: [] as string[], varsFile: [] as string[], varsEnv: [] as string[] };
  const options: { -readonly [K in keyof Options]: Options[K] } = { ...lists };
  const operands: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.length <= 1 || !arg.startsWith('-')) {
      operands.push(arg);
    } else if (arg === '--var-errs') {
      options.varErrs = true;
    } else if (arg === '--var-errs-unused') {
      options.varErrsUnused = true;
    } else {
      const key = Object.hasOwn(VALUED, arg) ? VALUED[arg] : undefined;
      const value = argv[i + 1];
      if (key === undefined || value === undefined) return undefined;
      i++;
      if (key === 'varsStore' || key === 'path') options[key] = value;
      else lists[key].push(value);
    }
  }
  if (operands.length !== 1) return undefined;
  return { path: operands[0]!, options };
}
