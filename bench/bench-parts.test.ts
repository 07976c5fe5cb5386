// The bench's own parts: the delaying decorators and the step recorder's critical path.
// Run: node --import tsx --test bench/bench-parts.test.ts (or node --test dist/bench/*.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCpi } from '../cpi/local/local-cpi.js';
import { scheduleDeployment } from '../src/deploy/schedule.js';
import type { AgentDialer, InstanceAgent } from '../src/deploy/ports.js';
import type { UpdatePolicy } from '../src/plan/deployment-manifest.js';
import type { InstancePlan } from '../src/plan/instance-plan.js';
import { DelayingAgentDialer } from '../test/fakes/delaying-agents.js';
import { DelayingCpi, MUTATING_CPI_METHODS } from '../test/fakes/delaying-cpi.js';
import { StepRecorder } from '../test/fakes/step-recorder.js';

/** Records the delays asked for instead of waiting them out. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; asked: number[] } {
  const asked: number[] = [];
  return { asked, sleep: async (ms) => void asked.push(ms) };
}

test('DelayingCpi answers as the local CPI does, delays each call by its method, counts failures too', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bench-delaying-cpi-'));
  try {
    const { sleep, asked } = recordingSleep();
    const cpi = new DelayingCpi(
      new LocalCpi({ root, ssh_port: 2222, load_balancers: {} }),
      { create_stemcell: 700, other: 5 },
      sleep,
    );
    assert.deepEqual(await cpi.info(), { api_version: 2, stemcell_formats: ['local', 'warden-tar', 'general-tar'] });
    const cid = await cpi.createStemcell('', { name: 'bosh-local-ubuntu-jammy', version: '1.0' });
    assert.match(cid, /^sc-/);
    await assert.rejects(cpi.setVmMetadata('vm-missing', {}), {
      name: 'CpiError',
      method: 'set_vm_metadata',
      kind: 'NotFound',
    });
    assert.equal(await cpi.hasVm('vm-missing'), false);
    assert.deepEqual(asked, [5, 700, 5, 5]);
    assert.equal(cpi.log.count(...MUTATING_CPI_METHODS), 2, 'create_stemcell and the failed set_vm_metadata');
    assert.equal(cpi.log.total(), 4);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** A hand-written recording agent dialer: every call is logged as `<address> <method>`. */
function recordingDialer(): { dialer: AgentDialer; calls: string[] } {
  const calls: string[] = [];
  const dialer: AgentDialer = {
    agent: (vm) => {
      const log = (m: string) => async () => void calls.push(`${vm.address} ${m}`);
      const agent = {
        bootstrap: log('bootstrap'),
        apply: log('apply'),
        runScript: async (name: string) => void calls.push(`${vm.address} runScript ${name}`),
        start: log('start'),
        stop: log('stop'),
        drain: log('drain'),
        getState: async () => {
          calls.push(`${vm.address} getState`);
          return { state: 'running' as const, jobs: [] };
        },
        mountDisk: log('mountDisk'),
        unmountDisk: log('unmountDisk'),
        migrateDisk: log('migrateDisk'),
        runErrand: async () => ({ exitCode: 0, signal: null }),
        fetchLogs: async () => Buffer.alloc(0),
      };
      return agent as unknown as InstanceAgent;
    },
    closeAll: async () => void calls.push('closeAll'),
  };
  return { dialer, calls };
}

test('DelayingAgentDialer passes every call through, delays it by its method, counts by method and by tag', async () => {
  const { dialer, calls } = recordingDialer();
  const { sleep, asked } = recordingSleep();
  const agents = new DelayingAgentDialer(dialer, { start: 1000, other: 50 }, sleep, (address) =>
    address === '127.1.1.10' ? 'master' : undefined,
  );
  const master = agents.agent({ address: '127.1.1.10', hostPublicKey: 'k', agentId: 'a' });
  const worker = agents.agent({ address: '127.1.1.40', hostPublicKey: 'k', agentId: 'b' });
  await master.apply([]);
  await master.runScript('pre-start');
  await master.start();
  assert.equal((await master.getState()).state, 'running');
  await worker.start();
  await agents.closeAll();
  assert.deepEqual(calls, [
    '127.1.1.10 apply',
    '127.1.1.10 runScript pre-start',
    '127.1.1.10 start',
    '127.1.1.10 getState',
    '127.1.1.40 start',
    'closeAll',
  ]);
  assert.deepEqual(asked, [50, 50, 1000, 50, 1000]);
  assert.equal(agents.log.count('start'), 2);
  assert.equal(agents.log.count('runScript pre-start'), 1);
  assert.deepEqual(
    [...agents.tagged.snapshot().keys()],
    ['master apply', 'master runScript pre-start', 'master start', 'master getState'],
  );
});

const policy = (over: Partial<UpdatePolicy> = {}): UpdatePolicy => ({
  canaries: 1,
  maxInFlight: { count: 2 },
  canaryWatchTime: { min: 0, max: 0 },
  updateWatchTime: { min: 0, max: 0 },
  serial: true,
  vmStrategy: 'delete-create',
  ...over,
});

const plans = (group: string, n: number): InstancePlan[] =>
  Array.from({ length: n }, (_, index) => ({
    action: 'create' as const,
    reasons: new Set<never>(),
    label: `${group}/${index}`,
    desired: { index } as never,
    changes: [],
    steps: [],
  }));

test('StepRecorder: creations through the pool as the Deployer hands them out, then each turn as long as its slowest step', () => {
  const rec = new StepRecorder();
  const ev = (stage: string, task: string, index: number, elapsedMs: number) => {
    const e = { stage, task, tags: [], index, total: 0, time: new Date(0) };
    rec.started(e);
    rec.finished({ ...e, elapsedMs });
  };
  // Pool of 2, in index order: VM 1 (500 ms) and VM 2 (100 ms) start at once; VM 3 takes the
  // worker free at 100 (→ 400); VM 4 the one free first again, at 400 (→ 700).
  ev('Creating missing vms', 'm/0', 1, 500);
  ev('Creating missing vms', 'm/1', 2, 100);
  ev('Creating missing vms', 'w/0', 4, 300);
  ev('Creating missing vms', 'w/1', 3, 300);
  const schedule = scheduleDeployment([
    { name: 'm', policy: policy(), size: 2, plans: plans('m', 2) },
    { name: 'w', policy: policy({ maxInFlight: { count: 2 } }), size: 3, plans: plans('w', 3) },
  ]);
  ev('Updating instance m', 'm/0 (canary)', 1, 1000);
  ev('Updating instance m', 'm/1', 1, 1200);
  ev('Updating instance w', 'w/0 (canary)', 1, 700);
  ev('Updating instance w', 'w/1', 1, 200);
  ev('Updating instance w', 'w/2', 1, 900);
  const path = rec.criticalPath(schedule, 2);
  assert.equal(path.createMs, 700);
  assert.deepEqual(path.stages, [
    { groups: ['m'], ms: 2200 },
    { groups: ['w'], ms: 1600 },
  ]);
  assert.deepEqual([...rec.spans.keys()], ['Creating missing vms', 'Updating instance m', 'Updating instance w']);
});
