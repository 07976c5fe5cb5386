import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Director, type PreparedDeploy } from '../src/deploy/director.js';
import type { InstancePlan } from '../src/plan/instance-plan.js';
import { criticalPathBound, scheduleDeployment, type Schedule, type StepCosts } from '../src/deploy/schedule.js';
import { SshAgents } from '../src/deploy/ssh-agents.js';
import { Task, type TaskListener } from '../src/deploy/task.js';
import { StepRecorder } from '../test/fakes/step-recorder.js';
import { createEnv } from '../src/env/create-env.js';
import { agentBundlePath, environmentCpi } from '../src/cli/context.js';
import { parseEnvironmentManifest } from '../src/env/environment-manifest.js';
import { interpolateManifest, manifestWithOps } from '../src/manifest/interpolate.js';
import { isMap, toPlain, type YamlValue } from '../src/manifest/value.js';
import { StaticVariables, type VarFlags } from '../src/manifest/variables/index.js';
import { stringifyYaml } from '../src/manifest/yaml.js';
import { openBlobstore } from '../src/release/blobstore.js';
import { uploadRelease } from '../src/release/upload-release.js';
import { openStateStore, type StateStore } from '../src/state/index.js';
import { fmt, repoRoot } from './common.js';
import { DelayingAgentDialer, type AgentDelays } from '../test/fakes/delaying-agents.js';
import { DelayingCpi, MUTATING_CPI_METHODS, type CpiDelays } from '../test/fakes/delaying-cpi.js';
import { openSandbox, type Sandbox } from './sandbox.js';

/** The latency injected into every CPI and agent call (ms), as a remote IaaS and VM would add. */
const SMALL = 50;
const CPI_DELAYS: CpiDelays = { create_vm: 2000, attach_disk: 500, other: SMALL };
const AGENT_DELAYS: AgentDelays = { start: 1000, other: SMALL };
const MASTERS = 3;
const WORKERS = 20;
/** The Deployer's "Creating missing vms" pool (its default). */
const VM_POOL = 8;

const cpiDelay = (m: string) => CPI_DELAYS[m] ?? CPI_DELAYS.other;
const agentDelay = (m: keyof AgentDelays) => AGENT_DELAYS[m] ?? AGENT_DELAYS.other;

/**
 * What each step costs under the injected latency alone, call by call as the Deployer makes
 * them: a new VM is create_vm, set_vm_metadata and the agent's bootstrap; a new instance's update
 * is (with a persistent disk) create_disk, attach_disk and mount, then apply, pre-start, start,
 * one get_state and post-start.
 */
export const INJECTED_COSTS: StepCosts = {
  createVm: cpiDelay('create_vm') + cpiDelay('set_vm_metadata') + agentDelay('bootstrap'),
  updateInstance: (p: InstancePlan) => {
    const disk =
      p.reasons.has('persistent_disk') && (p.desired?.persistentDisk.size ?? 0) > 0
        ? cpiDelay('create_disk') + cpiDelay('attach_disk') + agentDelay('mountDisk')
        : 0;
    return disk + agentDelay('apply') + 2 * agentDelay('runScript') + agentDelay('start') + agentDelay('getState');
  },
};

interface RunFigures {
  readonly label: string;
  readonly prepareMs: number;
  readonly wallMs: number;
  readonly boundMs: number;
  /** Per phase (task stage): wall time and its own share of the bound. */
  /** The critical path of the steps as they ran (their own durations, the schedule's order). */
  readonly pathMs: number;
  readonly phases: readonly { stage: string; ms: number; pathMs: number; boundMs: number }[];
  /** The real work under the injected latency: calls and mean time of each CPI and agent method. */
  readonly work: readonly string[];
  readonly noop: {
    readonly wallMs: number;
    readonly prepareMs: number;
    readonly mutatingCpiCalls: number;
    readonly agentApplies: number;
    readonly agentCalls: number;
  };
}

/**
 * manifests/cfcr.yml on the local CPI, scaled to 3 masters and 20 workers, deployed with every CPI
 * and agent call slowed by a fixed latency; its wall time against the least time its own update
 * settings allow under that latency (criticalPathBound), with max_in_flight 1 and 100%; then a
 * redeploy of the same manifest, which should change nothing.
 */
export async function benchDeploy(): Promise<string[]> {
  const lines = [
    `deploy: cfcr.yml + ops-files/local.yml, ${MASTERS} masters (etcd, kube-apiserver, kube-controller-manager, kube-scheduler; 5120 MB disk) and ${WORKERS} workers (kubelet, kube-proxy), stand-in Kubernetes, local CPI`,
    `deploy: injected latency: create_vm ${cpiDelay('create_vm')} ms, attach_disk ${cpiDelay('attach_disk')} ms, agent start ${agentDelay('start')} ms, every other CPI/agent call ${SMALL} ms`,
  ];
  for (const [label, ops] of [
    ['max_in_flight 1', 'max-in-flight-1.yml'],
    ['max_in_flight 100%', 'max-in-flight-100.yml'],
  ] as const) {
    const r = await deployOnce(label, ops);
    lines.push(
      `deploy: ${r.label.padEnd(19)} wall ${fmt(r.wallMs / 1000, 2)} s, critical-path bound ${fmt(r.boundMs / 1000, 2)} s, ratio ${fmt(r.wallMs / r.boundMs, 3)} (aim <= 1.10); interpolate+plan ${fmt(r.prepareMs / 1000, 2)} s before it`,
      `deploy: ${r.label.padEnd(19)} steps' own critical path ${fmt(r.pathMs / 1000, 2)} s (injected latency ${fmt(r.boundMs / 1000, 2)} s + local work ${fmt((r.pathMs - r.boundMs) / 1000, 2)} s); engine time between steps ${fmt((r.wallMs - r.pathMs) / 1000, 2)} s (wall/path ${fmt(r.wallMs / r.pathMs, 3)})`,
      `deploy: ${r.label.padEnd(19)} phases (wall / steps' path / bound): ${r.phases
        .filter((p) => p.ms >= 10)
        .map((p) => `${p.stage} ${fmt(p.ms / 1000, 2)}/${fmt(p.pathMs / 1000, 2)}/${fmt(p.boundMs / 1000, 2)} s`)
        .join(', ')}`,
      ...r.work.map(
        (w) => `deploy: ${r.label.padEnd(19)} real work beyond the injected latency (calls x mean ms), ${w}`,
      ),
      `deploy: ${r.label.padEnd(19)} no-op redeploy: ${r.noop.mutatingCpiCalls} mutating CPI calls, ${r.noop.agentApplies} agent applies (${r.noop.agentCalls} agent calls), wall ${fmt((r.noop.prepareMs + r.noop.wallMs) / 1000, 2)} s (interpolate+plan ${fmt(r.noop.prepareMs / 1000, 2)} s, apply ${fmt(r.noop.wallMs / 1000, 2)} s) (aim 0, 0, < 2 s)`,
    );
  }
  return lines;
}

function newTask(
  store: StateStore,
  deployment: string | null,
  listener: TaskListener,
): { task: Task; finish: (ok: boolean) => void } {
  const rec = store.tasks.create({ description: 'create deployment', deployment, user: 'admin' });
  store.tasks.start(rec.id);
  return {
    task: new Task(rec.id, store, { now: () => new Date() }, listener),
    finish: (ok) => store.tasks.finish(rec.id, ok ? 'done' : 'error', ok ? 'ok' : 'failed'),
  };
}

const quiet: TaskListener = { started: () => undefined, finished: () => undefined };

async function deployOnce(label: string, updateOps: string): Promise<RunFigures> {
  const box = await openSandbox('bench-deploy');
  const statePath = join(box.dir, 'state.db');
  const store = openStateStore(statePath);
  try {
    const environment = await createEnvironment(box, store, statePath);
    const blobstore = openBlobstore(join(box.dir, 'blobs'));
    // Offline on purpose: the kubernetes package falls back to the stand-in, never a download.
    await uploadRelease(join(repoRoot, 'release'), store, blobstore, {
      fetch: () => Promise.reject(new Error('offline (bench)')),
    });

    const ecpi = await environmentCpi(environment, dirname(statePath));
    const cpi = new DelayingCpi(ecpi.cpi, CPI_DELAYS, (ms) => sleep(ms));
    const ssh = new SshAgents({
      privateKey: environment.sshKey.privateKey,
      port: ecpi.sshPort,
      agentBundlePath: agentBundlePath(),
      readBlob: async (id) => blobstore.get(id),
    });
    const groupOfAddress = new Map<string, string>();
    const agents = new DelayingAgentDialer(
      ssh,
      AGENT_DELAYS,
      (ms) => sleep(ms),
      (address) => groupOfAddress.get(address),
    );
    const director = new Director({
      store,
      environment,
      cpi: { ...ecpi, cpi },
      agents,
      blobstore,
      sleep: (ms) => sleep(ms),
    });

    const flags = varFlags(box);
    const fixture = (f: string) => join(repoRoot, 'bench', 'fixtures', f);
    const raw = manifestWithOps({
      manifest: join(repoRoot, 'manifests', 'cfcr.yml'),
      opsFiles: [
        join(repoRoot, 'ops-files', 'local.yml'),
        join(repoRoot, 'ops-files', 'worker_count.yml'),
        fixture('cfcr-sandbox.yml'),
        fixture(updateOps),
      ],
      varFlags: flags,
    });
    const vars = new StaticVariables([
      ['net', box.net],
      ['worker_count', WORKERS],
    ]);

    // The first deploy: everything is created.
    const t0 = performance.now();
    const prepared = await director.prepare('cfcr', raw, vars, {});
    const prepareMs = performance.now() - t0;
    for (const g of prepared.plan.groups)
      for (const p of g.plans)
        for (const n of p.desired?.networks ?? []) if (n.ip) groupOfAddress.set(n.ip, g.group.name);
    const { schedule, missing } = scheduleOf(prepared);
    const steps = new StepRecorder();
    const first = newTask(store, 'cfcr', steps);
    const t1 = performance.now();
    try {
      await director.apply(prepared, first.task, {});
      first.finish(true);
    } catch (err) {
      first.finish(false);
      throw err;
    }
    const wallMs = performance.now() - t1;
    const boundMs = criticalPathBound(schedule, missing, VM_POOL, INJECTED_COSTS);
    const path = steps.criticalPath(schedule, VM_POOL);
    const pathOf = (stage: string) =>
      stage === 'Creating missing vms'
        ? path.createMs
        : (path.stages.find((st) => st.groups.some((g) => stage === `Updating instance ${g}`))?.ms ?? 0);
    const phases = [...steps.spans].map(([stage, s]) => ({
      stage,
      ms: s.end - s.start,
      pathMs: pathOf(stage),
      boundMs: phaseBound(stage, schedule, missing),
    }));
    const pathMs = path.createMs + path.stages.reduce((a, st) => a + st.ms, 0);

    // The same manifest again: nothing should change.
    const work = realWork(cpi, agents);
    const cpiBefore = cpi.log.count(...MUTATING_CPI_METHODS);
    const appliesBefore = agents.log.count('apply');
    const agentCallsBefore = agents.log.total();
    const t2 = performance.now();
    const again = await director.prepare('cfcr', raw, vars, {});
    const t3 = performance.now();
    const second = newTask(store, 'cfcr', quiet);
    await director.apply(again, second.task, {});
    second.finish(true);
    const t4 = performance.now();
    return {
      label,
      prepareMs,
      wallMs,
      boundMs,
      pathMs,
      phases,
      noop: {
        prepareMs: t3 - t2,
        wallMs: t4 - t3,
        mutatingCpiCalls: cpi.log.count(...MUTATING_CPI_METHODS) - cpiBefore,
        agentApplies: agents.log.count('apply') - appliesBefore,
        agentCalls: agents.log.total() - agentCallsBefore,
      },
      work,
    };
  } finally {
    await teardown(box, store, statePath);
  }
}

/** The time the local CPI and agents took per call, the injected latency excluded: CPI calls, then agent calls by group. */
function realWork(cpi: DelayingCpi, agents: DelayingAgentDialer): string[] {
  const show = (entries: Iterable<readonly [string, { calls: number; totalMs: number }]>) =>
    [...entries].map(([m, e]) => `${m} ${e.calls}x${fmt(e.totalMs / e.calls, 0)}`).join(', ');
  const lines = [`CPI: ${show(cpi.log.snapshot())}`];
  const byGroup = new Map<string, [string, { calls: number; totalMs: number }][]>();
  for (const [key, e] of agents.tagged.snapshot()) {
    const [group, ...method] = key.split(' ');
    byGroup.set(group!, [...(byGroup.get(group!) ?? []), [method.join(' '), e]]);
  }
  for (const [group, entries] of byGroup) lines.push(`${group} agents: ${show(entries)}`);
  return lines;
}

/** Deletes every VM, disk and proxy through the CPI, then stops whatever is left and removes the sandbox. */
async function teardown(box: Sandbox, store: StateStore, statePath: string): Promise<void> {
  try {
    const environment = store.environment.get();
    if (environment) await (await environmentCpi(environment, dirname(statePath))).teardown();
  } finally {
    store.close();
    await box.cleanup();
  }
}

function varFlags(box: Sandbox): VarFlags {
  return {
    varKVs: [`net=${box.net}`, `ssh_port=${box.sshPort}`],
    varFiles: [],
    varsFiles: [],
    varsEnv: [],
    env: {},
    cwd: repoRoot,
  };
}

/** create-env, as the CLI runs it, for manifests/env.yml moved onto the sandbox's addresses. */
async function createEnvironment(box: Sandbox, store: StateStore, statePath: string) {
  const manifest = join(repoRoot, 'manifests', 'env.yml');
  const doc = await interpolateManifest({
    manifest,
    opsFiles: [join(repoRoot, 'bench', 'fixtures', 'env-sandbox.yml')],
    varFlags: varFlags(box),
    expectAllKeys: true,
  });
  const env = parseEnvironmentManifest(toPlain(doc), manifest);
  const cloudConfig: YamlValue = isMap(doc) ? (doc.get('cloud_config') ?? null) : null;
  const t = newTask(store, null, quiet);
  const result = await createEnv(
    env,
    { store, cpiFor: (e) => environmentCpi(e, dirname(statePath)), cloudConfigText: stringifyYaml(cloudConfig) },
    t.task,
  );
  t.finish(true);
  return result.environment;
}

/** The schedule the Deployer will run (the manifest's own update blocks) and how many VMs it creates. */
function scheduleOf(p: PreparedDeploy): { schedule: Schedule; missing: number } {
  const service = p.plan.groups.filter((g) => g.group.lifecycle === 'service');
  const schedule = scheduleDeployment(
    service.map((g) => ({ name: g.group.name, policy: g.group.update, size: g.group.instances, plans: g.plans })),
  );
  return { schedule, missing: service.flatMap((g) => g.plans).filter((pl) => pl.action === 'create').length };
}

/** A task stage's own share of the critical-path bound. */
function phaseBound(stage: string, schedule: Schedule, missing: number): number {
  if (stage === 'Creating missing vms') return criticalPathBound({ stages: [] }, missing, VM_POOL, INJECTED_COSTS);
  const m = /^Updating instance (.+)$/.exec(stage);
  if (!m) return 0;
  const own = schedule.stages.find((s) => s.some((g) => g.group === m[1]));
  return own ? criticalPathBound({ stages: [own] }, 0, VM_POOL, INJECTED_COSTS) : 0;
}
