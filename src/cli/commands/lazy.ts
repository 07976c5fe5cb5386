import type { Command } from 'commander';
import type { CliIo } from '../io.js';

type Action = (io: CliIo) => (...args: never[]) => unknown;

const truthy = (v: string | undefined) => v !== undefined && /^(true|1|yes)$/i.test(v.trim());

/**
 * bosh-cli's environment variables beside the director's: $BOSH_ENVIRONMENT and
 * $BOSH_DEPLOYMENT answer where $DIRECTOR_ENVIRONMENT and $DIRECTOR_DEPLOYMENT are not set.
 */
export function withBoshEnv(io: CliIo): CliIo {
  const env = io.env;
  const alias = (name: string) => env[`DIRECTOR_${name}`] ?? env[`BOSH_${name}`];
  if (alias('ENVIRONMENT') === env['DIRECTOR_ENVIRONMENT'] && alias('DEPLOYMENT') === env['DIRECTOR_DEPLOYMENT'])
    return io;
  return Object.create(io, {
    env: {
      value: { ...env, DIRECTOR_ENVIRONMENT: alias('ENVIRONMENT'), DIRECTOR_DEPLOYMENT: alias('DEPLOYMENT') },
      enumerable: true,
    },
  }) as CliIo;
}

/**
 * A command's options with the program's global ones (given before the command) under them,
 * and what the environment says: $DIRECTOR_DEPLOYMENT/$BOSH_DEPLOYMENT for a command that takes
 * -d, $DIRECTOR_NON_INTERACTIVE/$BOSH_NON_INTERACTIVE for -n.
 */
export function optionsWithGlobals(cmd: Command, io: CliIo): Record<string, unknown> {
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  const local = cmd.opts<Record<string, unknown>>();
  const merged: Record<string, unknown> = { ...local, ...defined(cmd.parent?.opts() ?? {}), ...defined(local) };
  // --no-color defaults to color: true on both; either one saying false wins.
  if (cmd.parent?.opts()['color'] === false) merged['color'] = false;
  if (merged['deployment'] === undefined && cmd.options.some((o) => o.attributeName() === 'deployment')) {
    const d = io.env['DIRECTOR_DEPLOYMENT'] ?? io.env['BOSH_DEPLOYMENT'];
    if (d) merged['deployment'] = d;
  }
  if (!merged['nonInteractive'] && truthy(io.env['DIRECTOR_NON_INTERACTIVE'] ?? io.env['BOSH_NON_INTERACTIVE']))
    merged['nonInteractive'] = true;
  return merged;
}

/**
 * A commander action that loads its implementation only when the command runs, so that the CLI
 * starts without importing SQLite, SSH or the X.509 library for commands that need none of them.
 * The action gets its options merged with the program's global flags and the environment's.
 */
export function lazy<M extends Record<string, unknown>>(io: CliIo, load: () => Promise<M>, name: keyof M & string) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const runIo = withBoshEnv(io);
    const given = [...args.slice(0, -2), optionsWithGlobals(cmd, runIo), cmd];
    const mod = await load();
    const action = mod[name] as unknown as Action;
    await (action(runIo) as (...a: unknown[]) => unknown)(...given);
  };
}
