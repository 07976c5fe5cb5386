// The composition root: the one place that reads the process's environment, picks the state
// file, builds the environment's CPI (loading only its adapter, so a local environment never
// loads the Azure SDK), the SSH agent port, the blobstore and the Director. Everything else
// receives what it needs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Cpi } from '../../cpi/contract.js';
import type { EnvironmentCpi } from '../../cpi/environment.js';
import { DirectorError } from '../errors.js';
import type { Director } from '../deploy/director.js';
import type { GatewayFlags } from '../env/gateway.js';
import type { AgentDialer } from '../deploy/ports.js';
import type { Clock } from '../deploy/task.js';
import {
  displayUrl,
  isPostgresUrl,
  localName,
  openState,
  type OpenPostgresStateOptions,
  type EnvironmentRecord,
  type StateStore,
} from '../state/index.js';
import { environmentBlobstore, type Blobstore } from '../release/blobstore.js';
import type { AzureBlobSetup } from '../release/azure-blob-protocol.js';
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
  writeFileSync(join(home, 'current'), `${isPostgresUrl(statePath) ? displayUrl(statePath) : statePath}\n`, {
    mode: 0o600,
  });
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
      throw new DirectorError(`Reading the state's password file '${file}' ($DIRECTOR_STATE_PASSWORD_FILE)`, {
        cause: err,
      });
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

/** The local CPI's root: `properties.root`, else `local/` beside the state file. */
export function localRoot(env: EnvironmentRecord, stateDir: string): string {
  const root = env.cpiProperties['root'];
  return typeof root === 'string' ? root : join(stateDir, 'local');
}

/** Builds the CPI an environment record names, validating its properties; only that CPI's adapter is loaded. */
export async function environmentCpi(env: EnvironmentRecord, stateDir: string): Promise<EnvironmentCpi> {
  switch (env.cpiType) {
    case 'local': {
      const [{ parseLocalCpiConfig }, { localEnvironmentCpi }] = await Promise.all([
        import('../../cpi/local/config.js'),
        import('../../cpi/local/environment.js'),
      ]);
      return localEnvironmentCpi(
        parseLocalCpiConfig({ ...env.cpiProperties, root: localRoot(env, stateDir) }),
        env.directorUuid,
      );
    }
    case 'azure': {
      const { azureEnvironmentCpi } = await import('../../cpi/azure/environment.js');
      return azureEnvironmentCpi(env.cpiProperties, env.directorUuid);
    }
    default:
      throw new DirectorError(
        `Environment '${env.name}' uses the '${env.cpiType}' CPI, which this build cannot drive yet`,
      );
  }
}

/** The path of the bundled agent, beside the compiled director. */
export function agentBundlePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/cli → dist/agent/agent.cjs
  const fromDist = join(here, '..', '..', 'agent', 'agent.cjs');
  if (existsSync(fromDist)) return fromDist;
  return join(here, '..', '..', 'dist', 'agent', 'agent.cjs');
}

export interface DirectorWiring {
  /** Receives progress lines (never secrets). */
  readonly log?: (line: string) => void;
  /** Wraps the CPI (a seam for counting or recording calls; no module is mocked). */
  readonly wrapCpi?: (cpi: Cpi) => Cpi;
  /** Wraps the agent dialer, likewise. */
  readonly wrapAgents?: (agents: AgentDialer) => AgentDialer;
  /** bosh-cli's --gw-* flags of the command, over the environment's recorded gateway. */
  readonly gateway?: GatewayFlags;
  /** The environment's blobstore (blobstoreOf); the folder `blobs` under the store's localDir by default. */
  readonly blobstore?: Blobstore;
}

/**
 * Builds the Director of an environment from its open state: its CPI, the SSH agent port with
 * the environment's key and the bundled agent, the blobstore beside the state file.
 */
export async function directorFor(store: StateStore, wiring: DirectorWiring = {}): Promise<Director> {
  const environment = store.environment.get();
  if (!environment) throw new DirectorError(`State file '${store.path}' holds no environment: run create-env`);
  const [envCpi, { Director }, { SshAgents }, { openBlobstore }, { gatewayFor }] = await Promise.all([
    environmentCpi(environment, store.localDir),
    import('../deploy/director.js'),
    import('../deploy/ssh-agents.js'),
    import('../release/blobstore.js'),
    import('../env/gateway.js'),
  ]);
  const cpi = wiring.wrapCpi ? { ...envCpi, cpi: wiring.wrapCpi(envCpi.cpi) } : envCpi;
  const blobstore = wiring.blobstore ?? openBlobstore(join(store.localDir, 'blobs'));
  const gateway = gatewayFor(environment, wiring.gateway);
  const ssh = new SshAgents({
    privateKey: environment.sshKey.privateKey,
    port: envCpi.sshPort,
    agentBundlePath: agentBundlePath(),
    readBlob: async (id) => blobstore.get(id),
    ...(gateway === undefined ? {} : { gateway }),
  });
  const agents = wiring.wrapAgents ? wiring.wrapAgents(ssh) : ssh;
  return new Director({
    store,
    environment,
    cpi,
    agents,
    blobstore,
    sleep: (ms) => sleep(ms),
    ...(wiring.log ? { log: wiring.log } : {}),
  });
}

/**
 * Where the environment's blobs live: an Azure Blob container when $DIRECTOR_BLOBSTORE is
 * `azure://<container>` (the account from $AZURE_STORAGE_CONNECTION_STRING, else
 * $AZURE_STORAGE_ACCOUNT + $AZURE_STORAGE_KEY [+ $AZURE_STORAGE_BLOB_ENDPOINT]), else the folder
 * `blobs` under the environment's local folder.
 */
export function blobstoreSetting(io: CliIo): AzureBlobSetup | undefined {
  const given = io.env['DIRECTOR_BLOBSTORE'];
  if (!given || given === 'local') return undefined;
  const m = /^azure:\/\/([a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?)\/?$/.exec(given);
  if (!m)
    throw new DirectorError(
      `$DIRECTOR_BLOBSTORE: expected 'local' or 'azure://<container>' (a container name: 3-63 lower-case letters, digits and dashes), got '${given}'`,
    );
  const connectionString = io.env['AZURE_STORAGE_CONNECTION_STRING'];
  const name = io.env['AZURE_STORAGE_ACCOUNT'];
  const key = io.env['AZURE_STORAGE_KEY'];
  const url = io.env['AZURE_STORAGE_BLOB_ENDPOINT'];
  if (connectionString) return { container: m[1] as string, account: { connectionString } };
  if (name && key) return { container: m[1] as string, account: { name, key, ...(url ? { url } : {}) } };
  throw new DirectorError(
    `$DIRECTOR_BLOBSTORE names an Azure container but no account is given: set $AZURE_STORAGE_CONNECTION_STRING, or $AZURE_STORAGE_ACCOUNT and $AZURE_STORAGE_KEY`,
  );
}

/** The environment's blobstore (see blobstoreSetting). */
export function blobstoreOf(io: CliIo, store: StateStore): Blobstore {
  return environmentBlobstore(store.localDir, blobstoreSetting(io));
}
