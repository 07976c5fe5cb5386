import { isDeepStrictEqual } from 'node:util';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DirectorError } from '../../errors.js';
import { displayUrl, isPostgresUrl, stateListing, type StateSnapshot, type StateStore } from '../../state/index.js';
import { blobstoreSetting, openExistingState, openStateAt, resolveStatePath, type EnvOptions } from '../context.js';
import type { CliIo } from '../io.js';

const shown = (location: string): string => (isPostgresUrl(location) ? displayUrl(location) : location);

/** Counts of what a state holds, as the commands report them. */
function summary(store: StateStore): string {
  const deployments = store.deployments.list();
  const vms = store.vms.list().length;
  const disks = deployments.reduce(
    (n, d) => n + store.instances.list(d.name).reduce((m, i) => m + store.disks.listByInstance(i.uuid).length, 0),
    0,
  );
  const variables = deployments.reduce((n, d) => n + store.variables.list(d.name).length, 0);
  const tasks = store.tasks.list().length;
  return `${deployments.length} deployment(s), ${vms} VM(s), ${disks} disk(s), ${variables} variable(s), ${tasks} task(s)`;
}

export const exportState = (io: CliIo) => async (file: string, o: EnvOptions) => {
  const store = openExistingState(io, o);
  try {
    const snapshot = store.snapshot();
    const path = resolve(io.cwd, file);
    const tmp = join(dirname(path), `.${process.pid}.export.tmp`);
    try {
      writeFileSync(tmp, `${JSON.stringify(snapshot)}\n`, { mode: 0o600 });
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new DirectorError(`Writing the export '${path}'`, { cause: err });
    }
    io.stdout.write(`Exported ${summary(store)} from '${store.path}' to '${path}'\n\nSucceeded\n`);
  } finally {
    store.close();
  }
};

export const importState = (io: CliIo) => async (file: string, o: EnvOptions) => {
  const path = resolve(io.cwd, file);
  let snapshot: StateSnapshot;
  try {
    snapshot = JSON.parse(readFileSync(path, 'utf8')) as StateSnapshot;
  } catch (err) {
    throw new DirectorError(`Reading the export '${path}'`, { cause: err });
  }
  if (snapshot === null || typeof snapshot !== 'object' || snapshot.format !== 'director-state') {
    throw new DirectorError(
      `Reading the export '${path}': not a director state export (no "format": "director-state")`,
    );
  }
  const target = resolveStatePath(io, o);
  const store = openStateAt(io, target);
  try {
    store.restore(snapshot);
    // What was written reads back as the export holds it, table by table.
    const back = store.snapshot();
    for (const [table, rows] of Object.entries(snapshot.tables)) {
      if (!isDeepStrictEqual(back.tables[table] ?? [], rows))
        throw new DirectorError(`Importing '${path}': table ${table} reads back differently from the export`);
    }
    io.stdout.write(`Imported ${summary(store)} into '${store.path}'\n\nSucceeded\n`);
  } finally {
    store.close();
  }
};

export const migrateState = (io: CliIo) => async (o: EnvOptions & { to: string }) => {
  const source = openExistingState(io, o);
  try {
    const to = isPostgresUrl(o.to) ? o.to : resolve(io.cwd, o.to);
    if (!isPostgresUrl(to) && resolve(to) === resolve(source.path))
      throw new DirectorError(`Migrating state: '${to}' is the state itself`);
    const target = openStateAt(io, to);
    try {
      target.restore(source.snapshot());
      const env = target.environment.get();
      // The local CPI's VMs and the local blobs stay where they are: the folder the source kept
      // them in is recorded or copied, since the target's own folder is another.
      if (
        env?.cpiType === 'local' &&
        typeof env.cpiProperties['root'] !== 'string' &&
        target.localDir !== source.localDir
      ) {
        target.environment.update({ cpiProperties: { ...env.cpiProperties, root: join(source.localDir, 'local') } });
      }
      const blobs = join(source.localDir, 'blobs');
      if (blobstoreSetting(io) === undefined && existsSync(blobs) && target.localDir !== source.localDir) {
        cpSync(blobs, join(target.localDir, 'blobs'), { recursive: true, force: false, errorOnExist: false });
      }
      const before = stateListing(source) as { environment: unknown };
      const after = stateListing(target) as { environment: unknown };
      const sameRecords = isDeepStrictEqual({ ...before, environment: null }, { ...after, environment: null });
      if (!sameRecords)
        throw new DirectorError(`Migrating state to '${shown(to)}': the copy does not list as the source does`);
      io.stdout.write(
        `Copied ${summary(source)} from '${source.path}' to '${target.path}'; deployments, instances, VMs, disks, variables and tasks list alike.\n` +
          `Use it with --state ${shown(to)} (or $DIRECTOR_STATE_URL / $DIRECTOR_STATE).\n\nSucceeded\n`,
      );
    } finally {
      target.close();
    }
  } finally {
    source.close();
  }
};
