import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DirectorError } from '../errors.js';
import type { Clock } from '../deploy/task.js';
import { openStateStore, type StateStore } from '../state/index.js';
import type { CliIo } from './io.js';

/** The options every environment-scoped command takes. */
export interface EnvOptions {
  /** `-e/--environment NAME`: the environment under ~/.director/NAME. */
  readonly environment?: string;
  /** `--state PATH`: the state file itself. */
  readonly state?: string;
}

export const systemClock: Clock = { now: () => new Date() };

/** ~/.director, or $DIRECTOR_HOME. */
export function directorHome(io: CliIo): string {
  return io.env['DIRECTOR_HOME'] ?? join(io.env['HOME'] ?? homedir(), '.director');
}

/** The default state file of an environment: ~/.director/<env>/state.db. */
export function defaultStatePath(io: CliIo, envName: string): string {
  return join(directorHome(io), envName, 'state.db');
}

/**
 * Which state file a command uses: `--state`, else `-e NAME`, else $DIRECTOR_STATE or
 * $DIRECTOR_ENVIRONMENT, else the environment `create-env` last made current.
 */
export function resolveStatePath(io: CliIo, opts: EnvOptions): string {
  if (opts.state) return resolve(io.cwd, opts.state);
  const env = opts.environment ?? io.env['DIRECTOR_ENVIRONMENT'];
  if (env) return defaultStatePath(io, env);
  if (io.env['DIRECTOR_STATE']) return resolve(io.cwd, io.env['DIRECTOR_STATE']);
  const current = join(directorHome(io), 'current');
  if (existsSync(current)) {
    const path = readFileSync(current, 'utf8').trim();
    if (path) return path;
  }
  throw new DirectorError("No environment given: use '-e NAME' or '--state PATH', or run 'director create-env' first");
}

/** Records the environment that later commands use by default. */
export function setCurrentEnvironment(io: CliIo, statePath: string): void {
  const home = directorHome(io);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'current'), `${statePath}\n`, { mode: 0o600 });
}

/** Opens an existing state file; a missing one is an error naming it. */
export function openExistingState(io: CliIo, opts: EnvOptions): StateStore {
  const path = resolveStatePath(io, opts);
  if (!existsSync(path)) throw new DirectorError(`No environment at '${path}': run 'director create-env' first`);
  return openStateStore(path);
}

/** The folder beside the state file where the environment keeps its files (blobstore, local CPI). */
export function stateDir(store: StateStore): string {
  return dirname(store.path);
}
