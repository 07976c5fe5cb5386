// The Azure CPI under faults: the cfcr deploy of the Azure journey against the fake ARM (VMs booted
// as local VM hosts), once without faults (the baseline) and once with 30% throttling (429 with
// Retry-After), 10% server errors and 5% failed async operations, in the same run. Reports ARM
// requests per VM created (reads and writes, from the fake's counters) and the time the deploy
// spent waiting between a failed attempt and its retry (AzureCpi.stats().waitMs).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import type { AzureCallStats } from '../cpi/azure/clients.js';
import { systemClock } from '../src/cli/context.js';
import { runTask } from '../src/cli/task-runner.js';
import { Director } from '../src/deploy/director.js';
import { agentBundlePath } from '../src/cli/context.js';
import { SshAgents } from '../src/deploy/ssh-agents.js';
import { azureEnvironmentCpi } from '../cpi/azure/environment.js';
import { manifestWithOps } from '../src/manifest/interpolate.js';
import { varsFromFlags } from '../src/manifest/variables/index.js';
import { openBlobstore } from '../src/release/blobstore.js';
import { deploymentLock, openStateStore } from '../src/state/index.js';
import { runDirector } from '../test/helpers/director-process.js';
import { startAzureWorld } from '../test/e2e/azure-world.js';
import { gatewayFor } from '../src/env/gateway.js';
import type { FaultConfig } from '../test/fakes/arm/faults.js';
import { fmt, repoRoot } from './common.js';

interface DeployFigures {
  readonly vms: number;
  readonly reads: number;
  readonly writes: number;
  readonly stats: AzureCallStats;
  readonly ms: number;
}

const FAULTS: Partial<FaultConfig> = { seed: 11, throttleRate: 0.3, serverErrorRate: 0.1, asyncFailureRate: 0.05 };

const cli = async (args: readonly string[], env: Record<string, string>): Promise<void> => {
  const r = await runDirector(args, env);
  if (r.code !== 0) throw new Error(`director ${args[0]} failed: ${r.stderr.trim() || r.stdout.slice(-2000)}`);
};

/** Sums the fake's counters (token requests excluded). */
function armCounts(counters: Record<string, { reads: number; writes: number }>): { reads: number; writes: number } {
  return Object.entries(counters)
    .filter(([type]) => type !== 'auth')
    .reduce((n, [, c]) => ({ reads: n.reads + c.reads, writes: n.writes + c.writes }), { reads: 0, writes: 0 });
}

/**
 * One environment: create-env and upload-release through the CLI, then the deploy in this
 * process (so the Azure CPI's call statistics can be read), then delete-env.
 */
async function deployOnce(faults: Partial<FaultConfig>): Promise<DeployFigures> {
  const w = await startAzureWorld(faults);
  try {
    await cli(w.createEnvArgs, w.env);
    await cli(['upload-release', 'release'], w.env);
    const statePath = join(w.env['DIRECTOR_HOME'] as string, 'azure', 'state.db');
    const store = openStateStore(statePath);
    try {
      const environment = store.environment.get();
      if (!environment) throw new Error('create-env recorded no environment');
      const cpi = azureEnvironmentCpi(environment.cpiProperties, environment.directorUuid);
      const blobstore = openBlobstore(join(w.env['DIRECTOR_HOME'] as string, 'azure', 'blobs'));
      // the VMs are reached through the jumpbox, as the CLI does (the world routes its public address)
      const gateway = gatewayFor(environment);
      if (gateway === undefined)
        throw new Error('the Azure world recorded no gateway: refusing to dial private addresses from the host');
      const agents = new SshAgents({
        privateKey: environment.sshKey.privateKey,
        port: cpi.sshPort,
        agentBundlePath: agentBundlePath(),
        readBlob: async (id) => blobstore.get(id),
        gateway,
      });
      const director = new Director({ store, environment, cpi, agents, blobstore, sleep: (ms) => sleep(ms) });
      // deployArgs: deploy -d NAME MANIFEST (-o OPS)* -l VARS -n
      const args = w.deployArgs;
      const opsFiles = args.flatMap((a, i) => (args[i - 1] === '-o' ? [a] : []));
      const varsFiles = args.flatMap((a, i) => (args[i - 1] === '-l' ? [a] : []));
      const varFlags = { varKVs: [], varFiles: [], varsFiles, varsEnv: [], env: w.env, cwd: repoRoot, home: w.home };
      const raw = manifestWithOps({ manifest: args[3] as string, opsFiles, varFlags });
      const before = armCounts(w.fake.requestLog.counters());
      const t0 = process.hrtime.bigint();
      await director.ensureReleases(raw, repoRoot);
      const prepared = await director.prepare('my-cluster', raw, varsFromFlags(varFlags), {});
      const quiet = new Writable({ write: (_c, _e, done) => done() });
      await runTask(
        {
          store,
          clock: systemClock,
          out: quiet,
          description: 'create deployment',
          deployment: 'my-cluster',
          locks: [deploymentLock('my-cluster')],
        },
        (task) => director.apply(prepared, task, {}),
      );
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const after = armCounts(w.fake.requestLog.counters());
      const vms = w.fake.state
        .list('Microsoft.Compute/virtualMachines')
        .filter((r) => r.body.tags?.director === environment.directorUuid).length;
      return { vms, reads: after.reads - before.reads, writes: after.writes - before.writes, stats: cpi.stats(), ms };
    } finally {
      store.close();
      await cli(['delete-env', '-n', '--force'], w.env).catch(() => undefined);
    }
  } finally {
    await w.stop();
  }
}

/** `npm run bench -- azure`: ARM requests per VM and retry waits, with faults against without. */
export async function benchAzure(): Promise<string[]> {
  const base = await deployOnce({});
  const faulted = await deployOnce(FAULTS);
  const perVm = (d: DeployFigures) => (d.reads + d.writes) / Math.max(1, d.vms);
  const line = (label: string, d: DeployFigures) =>
    `azure: ${label} ${fmt(perVm(d))} ARM requests per VM (${fmt(d.reads / Math.max(1, d.vms))} reads, ${fmt(d.writes / Math.max(1, d.vms))} writes; ${d.vms} VMs), ` +
    `${d.stats.retries} retries (${d.stats.throttled} throttled, ${d.stats.serverErrors} 5xx, ${d.stats.asyncRetries} failed async ops re-run), waited ${fmt(d.stats.waitMs / 1000)} s on retries, deploy ${fmt(d.ms / 1000)} s`;
  return [
    line('deploy without faults (baseline):         ', base),
    line('deploy, 30% 429 / 10% 5xx / 5% async fail:', faulted),
    `azure: faults cost ${fmt(perVm(faulted) / perVm(base), 2)}x the requests per VM and ${fmt(faulted.ms / base.ms, 2)}x the deploy time (${fmt((faulted.ms - base.ms) / 1000)} s more; the ${fmt(faulted.stats.waitMs / 1000)} s of retry waits are summed over calls running in parallel)`,
  ];
}
