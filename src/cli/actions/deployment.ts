import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DirectorError } from '../../errors.js';
import type { Director } from '../../deploy/director.js';
import type { AgentDialer } from '../../deploy/ports.js';
import { parseUpdateOverrides } from '../../deploy/schedule.js';
import { deploymentManifest } from '../../deploy/director.js';
import type { GatewayFlags } from '../../env/gateway.js';
import { toPlain } from '../../manifest/value.js';
import { planJson } from '../../plan/plan-format.js';
import { parseYaml } from '../../manifest/yaml.js';
import type { Blobstore } from '../../release/blobstore.js';
import { uploadRelease } from '../../release/upload-release.js';
import { deploymentLock, ENVIRONMENT_LOCK, type StateStore } from '../../state/index.js';
import { blobstoreOf, directorFor, openExistingState, systemClock, type EnvOptions } from '../context.js';
import type { CliIo } from '../io.js';
import { formatTime, printListings, type Listing } from '../table.js';
import { vitalsCells, VITALS_HEADER } from '../vitals.js';
import { runTask } from '../task-runner.js';
import type { GatewayFlagValues, VarFlagValues } from '../commands/options.js';
import { varFlagsOf } from './interpolate.js';
import { answerOf, processState, type AgentAnswer } from './agent-state.js';
import { instanceLabel } from '../../plan/instance-plan.js';
import { checkBeforeDeploy } from './deploy-checks.js';
import { confirm } from '../confirm.js';
import { debugAgents, debugCpi, debugSinkFor } from '../debug-log.js';

export { confirm };

/** The composition root of the deployment commands: state, CPI, agents (through the gateway), blobstore. */
export async function services(
  io: CliIo,
  opts: EnvOptions & GatewayFlagValues,
): Promise<{ store: StateStore; director: Director; agents: AgentDialer; blobstore: Blobstore; close: () => void }> {
  const store = openExistingState(io, opts);
  try {
    const blobstore = blobstoreOf(io, store);
    const sink = debugSinkFor(store);
    const director = await directorFor(store, {
      log: (l) => io.stderr.write(`${l}\n`),
      gateway: gatewayFlagsOf(io, opts),
      wrapCpi: (cpi) => debugCpi(cpi, sink),
      wrapAgents: (agents) => debugAgents(agents, sink),
      blobstore,
    });
    return { store, director, agents: director.services.agents, blobstore, close: () => store.close() };
  } catch (err) {
    store.close();
    throw err;
  }
}

/** bosh-cli's --gw-* flags as the director uses them (the key file read); none given: none. */
export function gatewayFlagsOf(io: CliIo, o: GatewayFlagValues): GatewayFlags {
  let privateKey: string | undefined;
  if (o.gwPrivateKey !== undefined) {
    const path = resolve(io.cwd, o.gwPrivateKey);
    try {
      privateKey = readFileSync(path, 'utf8');
    } catch (err) {
      throw new DirectorError(
        `Reading the gateway private key '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  return {
    ...(o.gwHost === undefined ? {} : { host: o.gwHost }),
    ...(o.gwUser === undefined ? {} : { user: o.gwUser }),
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(o.gwDisable ? { disable: true } : {}),
  };
}

type DeployFlags = EnvOptions &
  VarFlagValues & {
    deployment?: string;
    nonInteractive?: boolean;
    recreate?: boolean;
    skipDrain?: boolean;
    canaries?: string;
    maxInFlight?: string;
    dryRun?: boolean;
    json?: boolean;
  };

export function deploymentName(o: { deployment?: string }, io: CliIo): string {
  const d = o.deployment ?? io.env['DIRECTOR_DEPLOYMENT'] ?? io.env['BOSH_DEPLOYMENT'];
  if (!d) throw new DirectorError("Expected a deployment: use '-d NAME' or $DIRECTOR_DEPLOYMENT");
  return d;
}

export const deploy = (io: CliIo) => async (manifest: string, o: DeployFlags) => {
  const name = deploymentName(o, io);
  const overrides = parseUpdateOverrides(o); // a bad value stops here, before anything is read or planned
  const varFlags = varFlagsOf(o, io);
  const { raw, vars } = await deploymentManifest(manifest, o.opsFile, varFlags);
  // --json: stdout holds the plan as one JSON document; everything else goes to stderr.
  const out = o.json ? io.stderr : io.stdout;
  const s = await services(io, o);
  try {
    await checkBeforeDeploy(s.store, s.blobstore, name, manifest, raw, vars); // refused here, nothing is written
    out.write(`Using deployment '${name}'\n\n`);
    await s.director.ensureReleases(raw, io.cwd);
    const prepared = await s.director.prepare(name, raw, vars, { recreate: Boolean(o.recreate) });
    if (prepared.diff) out.write(`${prepared.diff}\n`);
    if (o.json) io.stdout.write(`${JSON.stringify(planJson(prepared.plan), null, 2)}\n`);
    else io.stdout.write(prepared.planText);
    if (o.dryRun) {
      out.write('\nDry run: nothing was changed.\n\nSucceeded\n');
      return;
    }
    if (!(await confirm(io, Boolean(o.nonInteractive), out))) {
      out.write('Stopped\n');
      return;
    }
    out.write('\n');
    await runTask(
      {
        store: s.store,
        clock: systemClock,
        out,
        description: 'create deployment',
        deployment: name,
        locks: [deploymentLock(name)],
      },
      (task) => s.director.apply(prepared, task, { ...(o.skipDrain ? { skipDrain: true } : {}), ...overrides }),
    );
    out.write('\nSucceeded\n');
  } finally {
    s.close();
  }
};

export const vms = (io: CliIo) => async (o: EnvOptions & { deployment?: string; vitals?: boolean; json?: boolean }) => {
  const s = await services(io, o);
  try {
    if (o.deployment && !s.store.deployments.get(o.deployment))
      throw new DirectorError(`Deployment '${o.deployment}' does not exist`);
    const names = o.deployment ? [o.deployment] : s.store.deployments.list().map((d) => d.name);
    const listings: Listing[] = [];
    for (const name of names) {
      const instances = s.store.instances.list(name);
      const rows = await Promise.all(
        instances.map(async (i) => {
          const vm = s.store.vms.listByInstance(i.uuid).find((v) => v.state === 'created' && v.cid);
          if (!vm) return undefined;
          const answer: AgentAnswer =
            vm.hostPublicKey && vm.ips[0]
              ? await answerOf(() =>
                  s.agents
                    .agent({
                      address: vm.ips[0]!,
                      hostPublicKey: vm.hostPublicKey!,
                      agentId: vm.agentId,
                      instance: instanceLabel(i),
                    })
                    .getState({ vitals: Boolean(o.vitals) }),
                )
              : { reason: 'no address or host key recorded' };
          const st = 'state' in answer ? answer.state : undefined;
          const vmType =
            (i.desiredSpec?.['vm_type'] as string | undefined) ??
            (i.appliedSpec?.['vm_type'] as string | undefined) ??
            '-';
          return {
            instance: `${i.group}/${i.uuid}`,
            process_state: processState(answer),
            az: i.az ?? '-',
            ips: vm.ips.join('\n'),
            vm_cid: vm.cid!,
            vm_type: vmType,
            active: 'true',
            vm_created_at: formatTime(vm.createdAt),
            ...vitalsCells(st?.vitals),
          };
        }),
      );
      const header: [string, string][] = [
        ['instance', 'Instance'],
        ['process_state', 'Process State'],
        ['az', 'AZ'],
        ['ips', 'IPs'],
        ['vm_cid', 'VM CID'],
        ['vm_type', 'VM Type'],
        ['active', 'Active'],
      ];
      if (o.vitals) {
        header.push(['vm_created_at', 'VM Created At'], ...VITALS_HEADER);
      }
      listings.push({
        content: 'vms',
        title: `Deployment '${name}'`,
        header,
        rows: rows
          .filter((r): r is NonNullable<typeof r> => r !== undefined)
          .sort((a, b) => a.instance.localeCompare(b.instance)),
      });
    }
    await s.agents.closeAll();
    printListings(io.stdout, listings, o);
  } finally {
    s.close();
  }
};

export const deployments = (io: CliIo) => async (o: EnvOptions & { json?: boolean }) => {
  const s = await services(io, o);
  try {
    const rows = s.store.deployments.list().map((d) => {
      const instances = s.store.instances.list(d.name);
      return {
        name: d.name,
        release_s: namesOf(d.manifest, 'releases'),
        stemcell_s: namesOf(d.manifest, 'stemcells'),
        instances: String(instances.length),
      };
    });
    printListings(
      io.stdout,
      [
        {
          content: 'deployments',
          header: [
            ['name', 'Name'],
            ['release_s', 'Release(s)'],
            ['stemcell_s', 'Stemcell(s)'],
            ['instances', 'Instances'],
          ],
          rows,
        },
      ],
      o,
    );
  } finally {
    s.close();
  }
};

/** `name/version` of each release and stemcell a recorded manifest names. */
function namesOf(manifest: string | null, key: 'releases' | 'stemcells'): string {
  if (!manifest) return '-';
  const doc = toPlain(parseYaml(manifest, 'recorded manifest')) as Record<
    string,
    { name?: string; os?: string; version?: string | number }[] | undefined
  >;
  return (doc[key] ?? []).map((r) => `${r.name ?? r.os}/${String(r.version)}`).join('\n') || '-';
}

export const uploadReleaseAction = (io: CliIo) => async (dir: string, o: EnvOptions & { json?: boolean }) => {
  const store = openExistingState(io, o);
  try {
    const blobstore = blobstoreOf(io, store);
    await runTask(
      { store, clock: systemClock, out: io.stdout, description: 'upload release', locks: [ENVIRONMENT_LOCK] },
      (task) =>
        task.step('Uploading release', dir, async () => {
          const r = await uploadRelease(dir, store, blobstore, {
            ...(io.env['DIRECTOR_RELEASE_SOURCES'] ? { sourcesDir: io.env['DIRECTOR_RELEASE_SOURCES'] } : {}),
            log: (l) => io.stderr.write(`${l}\n`),
          });
          io.stdout.write(
            `Release ${r.record.name}/${r.record.version}${r.created ? ' uploaded' : ' already uploaded'}${r.fetched.length ? ` (${r.fetched.length} sources fetched)` : ''}\n`,
          );
        }),
    );
    io.stdout.write('\nSucceeded\n');
  } finally {
    store.close();
  }
};

export const releases = (io: CliIo) => async (o: EnvOptions & { json?: boolean }) => {
  const store = openExistingState(io, o);
  try {
    printListings(
      io.stdout,
      [
        {
          content: 'releases',
          header: [
            ['name', 'Name'],
            ['version', 'Version'],
            ['jobs', 'Jobs'],
            ['packages', 'Packages'],
          ],
          rows: store.releases.list().map((r) => ({
            name: r.name,
            version: r.version,
            jobs: String(r.jobs.length),
            packages: String(r.packages.length),
          })),
        },
      ],
      o,
    );
  } finally {
    store.close();
  }
};
