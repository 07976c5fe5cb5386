import { text } from 'node:stream/consumers';
import { formatInterpolated, interpolateManifest } from '../../manifest/interpolate.js';
import type { VarFlags } from '../../manifest/variables/index.js';
import type { CliIo } from '../io.js';
import type { VarFlagValues } from '../commands/options.js';

/** The bosh-cli variable flags as the variables stage takes them. */
export function varFlagsOf(o: VarFlagValues, io: CliIo): VarFlags {
  return {
    varKVs: o.var,
    varFiles: o.varFile,
    varsFiles: o.varsFile,
    varsEnv: o.varsEnv,
    env: io.env,
    cwd: io.cwd,
    ...(io.env['HOME'] ? { home: io.env['HOME'] } : {}),
  };
}

export const interpolate =
  (io: CliIo) =>
  async (path: string, o: VarFlagValues & { varErrs?: boolean; varErrsUnused?: boolean; path?: string }) => {
    const value = await interpolateManifest({
      manifest: path,
      ...(path === '-' ? { stdinText: await text(io.stdin) } : {}),
      opsFiles: o.opsFile,
      varFlags: varFlagsOf(o, io),
      ...(o.varsStore !== undefined ? { varsStore: o.varsStore } : {}),
      expectAllKeys: Boolean(o.varErrs),
      expectAllVarsUsed: Boolean(o.varErrsUnused),
      ...(o.path !== undefined ? { path: o.path } : {}),
      ...(io.env['HOME'] ? { home: io.env['HOME'] } : {}),
    });
    io.stdout.write(formatInterpolated(value, o.path !== undefined));
  };
