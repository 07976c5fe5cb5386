import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DirectorError } from '../errors.js';
import type { Clock } from '../deploy/task.js';
import { displayUrl, isPostgresUrl, localName, openState, type OpenPostgresStateOptions, type StateStore } from '../state/index.js';
import type { CliIo } from './io.js';

/** The options every environment-scoped command takes. */
export interface EnvOptions {
  /** `-e/--environment NAME`: the environment under ~/.director/NAME. */
  readonly environment?: string;
  /** `--state PATH|URL`: the state file itself, or a PostgreSQL database (postgres://…). */
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

/** A state file's absolute path; a PostgreSQL URL as it is. */
function location(io: CliIo, given: string): string {
  return isPostgresUrl(given) ? given : resolve(io.cwd, given);
}

/**
 * Which state a command uses: `--state`, else `-e NAME`, else $DIRECTOR_STATE_URL or
 * $DIRECTOR_STATE or $DIRECTOR_ENVIRONMENT, else the environment `create-env` last made current.
 * A state is a file path or a postgres:// URL.
 */
export function resolveStatePath(io: CliIo, opts: EnvOptions): string {
  if (opts.state) return location(io, opts.state);
  const env = opts.environment ?? io.env['DIRECTOR_ENVIRONMENT'];
  if (env) return defaultStatePath(io, env);
  const fromEnv = io.env['DIRECTOR_STATE_URL'] || io.env['DIRECTOR_STATE'];
  if (fromEnv) return location(io, fromEnv);
  const current = join(directorHome(io), 'current');
  if (existsSync(current)) {
    const path = readFileSync(current, 'utf8').trim();
    if (path) return path;
  }
  throw new DirectorError("No environment given: use '-e NAME' or '--state PATH', or run 'director create-env' first");
}

/** Records the environment that later commands use by default (a URL without its password). */
export function setCurrentEnvironment(io: CliIo, statePath: string): void {
  const home = directorHome(io);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'current'), `${isPostgresUrl(statePath) ? displayUrl(statePath) : statePath}\n`, { mode: 0o600 });
}

/**
 * How to open a state: for PostgreSQL, the password when the URL has none ($PGPASSWORD, else the
 * first line of the file $DIRECTOR_STATE_PASSWORD_FILE names; else ~/.pgpass is read when
 * connecting), and the folder under the director's home where this machine keeps the
 * environment's files.
 */
export function stateOptions(io: CliIo, statePath: string): OpenPostgresStateOptions {
  if (!isPostgresUrl(statePath)) return {};
  let password = io.env['PGPASSWORD'];
  const file = io.env['DIRECTOR_STATE_PASSWORD_FILE'];
  if (password === undefined && file) {
    try {
      password = (readFileSync(resolve(io.cwd, file), 'utf8').split('\n')[0] ?? '').trimEnd();
    } catch (err) {
      throw new DirectorError(`Reading the state's password file '${file}' ($DIRECTOR_STATE_PASSWORD_FILE)`, { cause: err });
    }
  }
  let dir: string;
  try {
    dir = join(directorHome(io), 'remote', localName(new URL(statePath)));
  } catch {
    dir = join(directorHome(io), 'remote', 'invalid');
  }
  return { ...(password !== undefined ? { password } : {}), localDir: dir };
}

/** Opens the state at `statePath` (a file or a postgres:// URL), creating a missing file. */
export function openStateAt(io: CliIo, statePath: string): StateStore {
  return openState(statePath, stateOptions(io, statePath));
}

/** Opens an existing environment's state; a missing file or an empty database is an error naming it. */
export function openExistingState(io: CliIo, opts: EnvOptions): StateStore {
  const path = resolveStatePath(io, opts);
  if (!isPostgresUrl(path)) {
    if (!existsSync(path)) throw new DirectorError(`No environment at '${path}': run 'director create-env' first`);
    return openStateAt(io, path);
  }
  const store = openStateAt(io, path);
  if (store.environment.get() === undefined) {
    store.close();
    throw new DirectorError(`No environment at '${displayUrl(path)}': run 'director create-env' first`);
  }
  return store;
}

/** The folder where the environment keeps its files on this machine (blobstore, local CPI). */
export function stateDir(store: StateStore): string {
  return store.localDir;
}
