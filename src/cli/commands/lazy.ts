import type { CliIo } from '../io.js';

type Action = (io: CliIo) => (...args: never[]) => unknown;

/**
 * A commander action that loads its implementation only when the command runs, so that the CLI
 * starts without importing SQLite, SSH or the X.509 library for commands that need none of them.
 */
export function lazy<M extends Record<string, unknown>>(io: CliIo, load: () => Promise<M>, name: keyof M & string) {
  return async (...args: unknown[]): Promise<void> => {
    const mod = await load();
    const action = mod[name] as unknown as Action;
    await (action(io) as (...a: unknown[]) => unknown)(...args);
  };
}
