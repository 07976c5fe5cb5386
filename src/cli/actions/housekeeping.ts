import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DirectorError, formatErrorChain } from '../../errors.js';
import type { EnvironmentCpi } from '../../../cpi/environment.js';
import { debugCpi, debugSinkFor } from '../debug-log.js';
import { readStemcell } from '../../stemcell/stemcell-archive.js';
import { pickUnused, releaseUsage, stemcellUsage } from '../../stemcell/usage.js';
import {
  deploymentLock,
  ENVIRONMENT_LOCK,
  type EnvironmentRecord,
  type OrphanedDiskRecord,
  type ReleaseRecord,
  type StateStore,
  type StemcellRecord,
} from '../../state/index.js';
import { blobstoreOf, environmentCpi, openExistingState, stateDir, systemClock, type EnvOptions } from '../context.js';
import type { CliIo } from '../io.js';
import { formatTime, printListings, renderTable, type Listing } from '../table.js';
import { runTask } from '../task-runner.js';
import { confirm } from './deployment.js';

type Json = { json?: boolean };

function environmentOf(store: StateStore): EnvironmentRecord {
  const env = store.environment.get();
  if (!env) throw new DirectorError(`State file '${store.path}' holds no environment: run 'director create-env' first`);
  return env;
}

async function withState<T>(
  io: CliIo,
  o: EnvOptions,
  fn: (store: StateStore, env: EnvironmentRecord) => Promise<T>,
): Promise<T> {
  const store = openExistingState(io, o);
  try {
    return await fn(store, environmentOf(store));
  } finally {
    store.close();
  }
}

/** The environment lock and every deployment's: no deploy may pick a stemcell or release being deleted. */
function housekeepingLocks(store: StateStore): string[] {
  return [ENVIRONMENT_LOCK, ...store.deployments.list().map((d) => deploymentLock(d.name))];
}

/** The environment's CPI, its calls written to the debug log of the task running on `store`. */
async function debuggedCpi(env: EnvironmentRecord, store: StateStore): Promise<EnvironmentCpi> {
  const ecpi = await environmentCpi(env, stateDir(store));
  return { ...ecpi, cpi: debugCpi(ecpi.cpi, debugSinkFor(store)) };
}

const names = (s: ReadonlySet<string> | undefined) =>
  [...(s ?? [])]
    .sort()
    .map((d) => `'${d}'`)
    .join(', ');

// ---- upload-stemcell ------------------------------------------------------------------------

export const uploadStemcell =
  (io: CliIo) => async (path: string, o: EnvOptions & Json & { name?: string; version?: string; fix?: boolean }) =>
    withState(io, o, async (store, env) => {
      const done = (line: string) => io.stdout.write(`${line}\n\nSucceeded\n`);
      // bosh-cli: with --name and --version an uploaded stemcell is found without reading the file.
      if (
        o.name !== undefined &&
        o.version !== undefined &&
        !o.fix &&
        store.stemcells.find(o.name, o.version, env.cpiType)
      ) {
        done(`Stemcell '${o.name}/${o.version}' already exists, skipped`);
        return;
      }
      const file = resolve(io.cwd, path);
      const scratch = await mkdtemp(join(stateDir(store), '.stemcell-upload-'));
      try {
        const archive = await readStemcell(file, scratch);
        const m = archive.manifest;
        if (o.name !== undefined && o.name !== m.name)
          throw new DirectorError(`Stemcell '${file}': its name is '${m.name}', not '${o.name}' as --name says`);
        if (o.version !== undefined && o.version !== m.version)
          throw new DirectorError(
            `Stemcell '${file}': its version is '${m.version}', not '${o.version}' as --version says`,
          );
        const existing = store.stemcells.find(m.name, m.version, env.cpiType);
        if (existing && !o.fix) {
          done(`Stemcell '${m.name}/${m.version}' already exists, skipped`);
          return;
        }
        const ecpi = await debuggedCpi(env, store);
        let saved: StemcellRecord | undefined;
        await runTask(
          { store, clock: systemClock, out: io.stdout, description: 'create stemcell', locks: [ENVIRONMENT_LOCK] },
          async (task) => {
            await task.step('Update stemcell', 'Verifying stemcell manifest', async () => {
              const info = await ecpi.cpi.info();
              if (
                m.stemcellFormats.length &&
                info.stemcell_formats.length &&
                !m.stemcellFormats.some((f) => info.stemcell_formats.includes(f))
              ) {
                throw new DirectorError(
                  `Stemcell '${file}': its formats (${m.stemcellFormats.join(', ')}) are none the ${env.cpiType} CPI supports (${info.stemcell_formats.join(', ')})`,
                );
              }
            });
            const cid = await task.step(
              'Update stemcell',
              `Uploading stemcell ${m.name}/${m.version} to the cloud`,
              () =>
                ecpi.cpi.createStemcell(archive.imagePath, {
                  ...m.cloudProperties,
                  name: m.name,
                  version: m.version,
                  os: m.operatingSystem,
                }),
            );
            saved = await task.step('Update stemcell', `Save stemcell ${m.name}/${m.version} (${cid})`, async () =>
              store.transaction(() => {
                const current = store.stemcells.find(m.name, m.version, env.cpiType);
                if (current) store.stemcells.remove(current.cid);
                return store.stemcells.add({
                  name: m.name,
                  version: m.version,
                  os: m.operatingSystem,
                  cid,
                  cpi: env.cpiType,
                });
              }),
            );
            // --fix: the old image goes unless a VM still runs on it (BOSH keeps it in the cloud).
            if (existing && existing.cid !== cid) {
              const users = store.vms.list().filter((v) => v.stemcellCid === existing.cid);
              if (users.length)
                io.stdout.write(`Kept the previous stemcell ${existing.cid}: ${users.length} VM(s) still run on it\n`);
              else
                await task.step('Update stemcell', `Deleting previous stemcell ${existing.cid}`, () =>
                  ecpi.cpi.deleteStemcell(existing.cid),
                );
            }
          },
        );
        io.stdout.write(`\nStemcell ${saved!.name}/${saved!.version} uploaded (${saved!.cid})\n\nSucceeded\n`);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });

// ---- delete-stemcell ------------------------------------------------------------------------

export const deleteStemcell =
  (io: CliIo) => async (slug: string, o: EnvOptions & Json & { force?: boolean; nonInteractive?: boolean }) =>
    withState(io, o, async (store, env) => {
      const at = slug.lastIndexOf('/');
      if (at <= 0 || at === slug.length - 1)
        throw new DirectorError(`Expected a stemcell as NAME/VERSION, found '${slug}'`);
      const name = slug.slice(0, at);
      const version = slug.slice(at + 1);
      const stemcell = store.stemcells.find(name, version, env.cpiType);
      if (!stemcell) {
        io.stdout.write(`Stemcell '${name}/${version}' does not exist: nothing to delete\n\nSucceeded\n`);
        return;
      }
      const users = stemcellUsage(store, env.cpiType).get(stemcell.cid);
      if (users?.size && !o.force)
        throw new DirectorError(
          `Stemcell '${name}/${version}' is still in use by deployment(s) ${names(users)}: delete them first or use --force`,
        );
      if (!(await confirm(io, Boolean(o.nonInteractive)))) {
        io.stdout.write('Stopped\n');
        return;
      }
      const ecpi = await debuggedCpi(env, store);
      await runTask(
        {
          store,
          clock: systemClock,
          out: io.stdout,
          description: `delete stemcell: ${name}/${version}`,
          locks: housekeepingLocks(store),
        },
        (task) =>
          task.step('Deleting stemcell from cloud', `${name}/${version} (${stemcell.cid})`, async () => {
            try {
              await ecpi.cpi.deleteStemcell(stemcell.cid);
            } catch (err) {
              if (!o.force) throw err;
              // --force, as bosh's: the record goes even when the cloud refuses
              task.debug(
                `Ignoring the CPI's error deleting stemcell ${stemcell.cid} (--force): ${formatErrorChain(err)}`,
              );
            }
            store.stemcells.remove(stemcell.cid);
          }),
      );
      io.stdout.write(`\nStemcell '${name}/${version}' deleted\n\nSucceeded\n`);
    });

// ---- disks --orphaned, delete-disk ----------------------------------------------------------

/** A size in MiB as bosh-cli prints it (go-humanize IBytes): `512 MiB`, `1.0 GiB`, `10 GiB`. */
export function formatMegabytes(mb: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = mb * 1024 * 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

function orphanedListing(disks: readonly OrphanedDiskRecord[]): Listing {
  return {
    content: 'disks',
    header: [
      ['disk_cid', 'Disk CID'],
      ['size', 'Size'],
      ['deployment', 'Deployment'],
      ['instance', 'Instance'],
      ['az', 'AZ'],
      ['orphaned_at', 'Orphaned At'],
    ],
    rows: disks.map((d) => ({
      disk_cid: d.cid,
      size: formatMegabytes(d.sizeMb),
      deployment: d.deployment,
      instance: d.instance,
      az: d.az ?? '-',
      orphaned_at: formatTime(d.orphanedAt),
    })),
  };
}

export const listDisks = (io: CliIo) => async (o: EnvOptions & Json & { orphaned?: boolean }) => {
  if (!o.orphaned)
    throw new DirectorError(
      "Only 'director disks --orphaned' is supported (the disks of instances are in 'director instances --details')",
    );
  await withState(io, o, async (store) => {
    printListings(io.stdout, [orphanedListing(store.disks.listOrphaned())], o);
  });
};

async function deleteOrphaned(store: StateStore, ecpi: EnvironmentCpi, disk: OrphanedDiskRecord): Promise<void> {
  await ecpi.cpi.deleteDisk(disk.cid);
  store.disks.remove(disk.cid);
}

export const deleteDisk = (io: CliIo) => async (cid: string, o: EnvOptions & Json & { nonInteractive?: boolean }) =>
  withState(io, o, async (store, env) => {
    const disk = store.disks.listOrphaned().find((d) => d.cid === cid);
    if (!disk) {
      const live = store.disks.get(cid);
      if (live)
        throw new DirectorError(
          `Disk '${cid}' is not orphaned: it is the persistent disk of an instance of deployment '${live.deployment ?? '?'}'`,
        );
      io.stdout.write(`Orphaned disk '${cid}' does not exist: nothing to delete\n\nSucceeded\n`);
      return;
    }
    if (!(await confirm(io, Boolean(o.nonInteractive)))) {
      io.stdout.write('Stopped\n');
      return;
    }
    const ecpi = await debuggedCpi(env, store);
    await runTask(
      {
        store,
        clock: systemClock,
        out: io.stdout,
        description: `delete orphan disk: ${cid}`,
        locks: [ENVIRONMENT_LOCK],
      },
      (task) =>
        task.step('Deleting orphaned disk', `${cid} (${disk.deployment}/${disk.instance})`, () =>
          deleteOrphaned(store, ecpi, disk),
        ),
    );
    io.stdout.write(`\nOrphaned disk '${cid}' deleted\n\nSucceeded\n`);
  });

// ---- clean-up -------------------------------------------------------------------------------

/** What `clean-up` deletes: bosh-director's CleanableArtifacts. */
export interface CleanUpPlan {
  readonly releases: readonly ReleaseRecord[];
  readonly stemcells: readonly StemcellRecord[];
  readonly orphanedDisks: readonly OrphanedDiskRecord[];
}

/** Unused releases and stemcells but the two newest of each name; with `all`, every unused one and every orphaned disk. */
export function planCleanUp(store: StateStore, cpi: string, all: boolean): CleanUpPlan {
  const keep = all ? 0 : 2;
  const rUse = releaseUsage(store);
  const sUse = stemcellUsage(store, cpi);
  return {
    releases: pickUnused(store.releases.list(), (r) => Boolean(rUse.get(`${r.name}/${r.version}`)?.size), keep),
    stemcells: pickUnused(
      store.stemcells.list().filter((s) => s.cpi === cpi),
      (s) => Boolean(sUse.get(s.cid)?.size),
      keep,
    ),
    orphanedDisks: all ? store.disks.listOrphaned() : [],
  };
}

function cleanUpListings(p: CleanUpPlan): Listing[] {
  return [
    {
      content: 'releases',
      title: 'Releases to delete',
      header: [
        ['name', 'Name'],
        ['version', 'Version'],
      ],
      rows: p.releases.map((r) => ({ name: r.name, version: r.version })),
    },
    {
      content: 'stemcells',
      title: 'Stemcells to delete',
      header: [
        ['name', 'Name'],
        ['version', 'Version'],
        ['os', 'OS'],
        ['cid', 'CID'],
      ],
      rows: p.stemcells.map((s) => ({ name: s.name, version: s.version, os: s.os, cid: s.cid })),
    },
    { ...orphanedListing(p.orphanedDisks), title: 'Orphaned disks to delete' },
  ];
}

export const cleanUp = (io: CliIo) => async (o: EnvOptions & Json & { all?: boolean; nonInteractive?: boolean }) =>
  withState(io, o, async (store, env) => {
    const preview = planCleanUp(store, env.cpiType, Boolean(o.all));
    const listings = cleanUpListings(preview).filter((l) => l.rows.length);
    if (listings.length) io.stdout.write(listings.map(renderTable).join('\n'));
    if (!preview.releases.length && !preview.stemcells.length && !preview.orphanedDisks.length) {
      io.stdout.write('\nNothing to clean up\n\nSucceeded\n');
      return;
    }
    if (!(await confirm(io, Boolean(o.nonInteractive)))) {
      io.stdout.write('Stopped\n');
      return;
    }
    io.stdout.write('\n');
    const ecpi = await debuggedCpi(env, store);
    const blobstore = blobstoreOf(io, store);
    const deleted = await runTask(
      {
        store,
        clock: systemClock,
        out: io.stdout,
        description: o.all ? 'clean up all' : 'clean up',
        locks: housekeepingLocks(store),
      },
      async (task) => {
        // Planned again under the locks: what was in use a moment ago is what counts now.
        const p = planCleanUp(store, env.cpiType, Boolean(o.all));
        for (const [i, r] of p.releases.entries()) {
          await task.step(
            'Deleting releases',
            `${r.name}/${r.version}`,
            async () => {
              store.releases.remove(r.name, r.version);
              const kept = new Set(
                store.releases.list().flatMap((x) => [...x.jobs, ...x.packages].map((a) => a.blobstorePath)),
              );
              for (const a of [...r.jobs, ...r.packages])
                if (!kept.has(a.blobstorePath)) await rm(blobstore.path(a.blobstorePath), { force: true });
            },
            { index: i + 1, total: p.releases.length },
          );
        }
        for (const [i, s] of p.stemcells.entries()) {
          await task.step(
            'Deleting stemcells',
            `${s.name}/${s.version} (${s.cid})`,
            async () => {
              await ecpi.cpi.deleteStemcell(s.cid);
              store.stemcells.remove(s.cid);
            },
            { index: i + 1, total: p.stemcells.length },
          );
        }
        for (const [i, d] of p.orphanedDisks.entries()) {
          await task.step('Deleting orphaned disks', d.cid, () => deleteOrphaned(store, ecpi, d), {
            index: i + 1,
            total: p.orphanedDisks.length,
          });
        }
        return p;
      },
    );
    io.stdout.write(
      `\nDeleted ${deleted.releases.length} release(s), ${deleted.stemcells.length} stemcell(s), ${deleted.orphanedDisks.length} orphaned disk(s)\n\nSucceeded\n`,
    );
  });

// ---- stemcells ------------------------------------------------------------------------------

/** `stemcells`, as bosh prints it: a `*` after the version of each one a deployment uses. */
export function stemcellsListing(store: StateStore, cpi: string): Listing {
  const usage = stemcellUsage(store, cpi);
  return {
    content: 'stemcells',
    header: [
      ['name', 'Name'],
      ['version', 'Version'],
      ['os', 'OS'],
      ['cpi', 'CPI'],
      ['cid', 'CID'],
    ],
    rows: store.stemcells.list().map((s) => ({
      name: s.name,
      version: `${s.version}${usage.get(s.cid)?.size ? '*' : ''}`,
      os: s.os,
      cpi: s.cpi,
      cid: s.cid,
    })),
    notes: ['(*) Currently deployed'],
  };
}
