import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { DirectorError } from '../../errors.js';
import { createEnv as createEnvironment } from '../../env/create-env.js';
import { parseEnvironmentManifest } from '../../env/environment-manifest.js';
import { interpolateManifest } from '../../manifest/interpolate.js';
import { isMap, toPlain, type YamlValue } from '../../manifest/value.js';
import { parseYaml, stringifyYaml } from '../../manifest/yaml.js';
import { parseCloudConfig } from '../../plan/cloud-config.js';
import { displayUrl, ENVIRONMENT_LOCK, isPostgresUrl } from '../../state/index.js';
import {
  defaultStatePath,
  environmentCpi,
  openStateAt,
  resolveStatePath,
  setCurrentEnvironment,
  systemClock,
  type EnvOptions,
} from '../context.js';
import type { CliIo } from '../io.js';
import { printListings } from '../table.js';
import { runTask } from '../task-runner.js';
import { varFlagsOf } from './interpolate.js';
import type { VarFlagValues } from '../commands/options.js';
import { withStore } from './tasks.js';

export const createEnv =
  (io: CliIo) => async (manifest: string, o: EnvOptions & VarFlagValues & { json?: boolean }) => {
    const doc = await interpolateManifest({
      manifest,
      opsFiles: o.opsFile,
      varFlags: varFlagsOf(o, io),
      ...(o.varsStore !== undefined ? { varsStore: o.varsStore } : {}),
      expectAllKeys: true,
      ...(io.env['HOME'] ? { home: io.env['HOME'] } : {}),
    });
    const env = parseEnvironmentManifest(toPlain(doc), manifest);
    const cloudConfigDoc: YamlValue = isMap(doc) ? (doc.get('cloud_config') ?? null) : null;
    // $DIRECTOR_STATE_URL names the team's database; otherwise a new environment gets its own file.
    const statePath =
      o.state || o.environment || io.env['DIRECTOR_STATE_URL']
        ? resolveStatePath(io, o)
        : defaultStatePath(io, env.name);
    const store = openStateAt(io, statePath);
    // Current from the moment it has a state file: after a failed run, the next command (a rerun,
    // or delete-env) finds it without -e.
    setCurrentEnvironment(io, statePath);
    try {
      const result = await runTask(
        { store, clock: systemClock, out: io.stdout, description: 'create environment', locks: [ENVIRONMENT_LOCK] },
        (task) =>
          createEnvironment(
            env,
            { store, cpiFor: (e) => environmentCpi(e, store.localDir), cloudConfigText: stringifyYaml(cloudConfigDoc) },
            task,
          ),
      );
      io.stdout.write(
        `\nEnvironment '${result.environment.name}' (${result.environment.cpiType} CPI, director ${result.environment.directorUuid})${result.changes.length ? `: ${result.changes.join(', ')} recorded` : ': no changes'}\nState: ${store.path}\n\nSucceeded\n`,
      );
    } finally {
      store.close();
    }
  };

export const deleteEnv = (io: CliIo) => async (o: EnvOptions & { force?: boolean }) => {
  const statePath = resolveStatePath(io, o);
  const remote = isPostgresUrl(statePath);
  if (!remote && !existsSync(statePath)) throw new DirectorError(`No environment at '${statePath}'`);
  const store = openStateAt(io, statePath);
  let name: string;
  try {
    const env = store.environment.get();
    if (!env) throw new DirectorError(`State '${remote ? displayUrl(statePath) : statePath}' holds no environment`);
    name = env.name;
    const deployments = store.deployments.list();
    if (deployments.length && !o.force) {
      throw new DirectorError(
        `Environment '${env.name}' still has deployments (${deployments.map((d) => `'${d.name}'`).join(', ')}): delete them first or use --force`,
      );
    }
    await runTask(
      { store, clock: systemClock, out: io.stdout, description: 'delete environment', locks: [ENVIRONMENT_LOCK] },
      async (task) => {
        const ecpi = await environmentCpi(env, store.localDir);
        await task.step('Deleting environment', `${env.cpiType} resources`, () => ecpi.teardown());
      },
    );
    // A database is the team's: the environment's record goes, the task history stays.
    if (remote) store.environment.delete();
  } finally {
    store.close();
  }
  if (!remote) for (const suffix of ['', '-wal', '-shm']) await rm(`${statePath}${suffix}`, { force: true });
  io.stdout.write(`\nEnvironment '${name}' deleted\n\nSucceeded\n`);
};

export const showEnv = (io: CliIo) => async (o: EnvOptions & { json?: boolean }) =>
  withStore(io, o, (store) => {
    const env = store.environment.get();
    if (!env) throw new DirectorError(`State file '${store.path}' holds no environment`);
    const stemcell = store.stemcells.list()[0];
    const cc = store.cloudConfigs.latest();
    const rows: [string, string][] = [
      ['Name', env.name],
      ['UUID', env.directorUuid],
      ['Version', '0.1.0 (director)'],
      ['Director Stemcell', stemcell ? `${stemcell.os}/${stemcell.version}` : '-'],
      ['CPI', `${env.cpiType}_cpi`],
      ['Cloud-Config', cc ? `version ${cc.version}` : '-'],
      ['Deployments', String(store.deployments.list().length)],
      ['State', store.path],
      ['User', 'admin'],
    ];
    if (o.json) {
      io.stdout.write(
        `${JSON.stringify({ Tables: [{ Content: '', Header: { name: 'Name', value: 'Value' }, Rows: rows.map(([n, v]) => ({ name: n, value: v })), Notes: [] }], Blocks: [], Lines: ['Succeeded'] }, null, 4)}\n`,
      );
      return;
    }
    const w = Math.max(...rows.map(([k]) => k.length));
    io.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n\nSucceeded\n`);
  });

export const showCloudConfig = (io: CliIo) => async (o: EnvOptions & { json?: boolean }) =>
  withStore(io, o, (store) => {
    const cc = store.cloudConfigs.latest();
    if (!cc) throw new DirectorError('No cloud-config: run create-env');
    if (o.json)
      io.stdout.write(
        `${JSON.stringify({ version: cc.version, created_at: cc.createdAt, content: toPlain(parseYaml(cc.content, 'cloud-config')) }, null, 4)}\n`,
      );
    else io.stdout.write(cc.content);
  });

export const updateCloudConfig =
  (io: CliIo) => async (path: string, o: EnvOptions & VarFlagValues & { json?: boolean }) => {
    const doc = await interpolateManifest({
      manifest: path,
      opsFiles: o.opsFile,
      varFlags: varFlagsOf(o, io),
      expectAllKeys: true,
    });
    parseCloudConfig(toPlain(doc), `cloud-config '${path}'`);
    const text = stringifyYaml(doc);
    await withStore(io, o, async (store) => {
      await runTask(
        { store, clock: systemClock, out: io.stdout, description: 'update cloud-config', locks: [ENVIRONMENT_LOCK] },
        (task) =>
          task.step('Updating cloud-config', path, async () => {
            const latest = store.cloudConfigs.latest();
            if (latest?.content === text) return;
            store.cloudConfigs.update(text);
          }),
      );
      const latest = store.cloudConfigs.latest()!;
      if (o.json) io.stdout.write(`${JSON.stringify({ version: latest.version })}\n`);
      else io.stdout.write(`\nCloud-config version ${latest.version}\n\nSucceeded\n`);
    });
  };

export const listStemcells = (io: CliIo) => async (o: EnvOptions & { json?: boolean }) =>
  withStore(io, o, async (store) => {
    const { stemcellsListing } = await import('./housekeeping.js');
    printListings(io.stdout, [stemcellsListing(store, store.environment.get()?.cpiType ?? '')], o);
  });
