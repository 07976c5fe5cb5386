import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCpi } from '../../../cpi/local/local-cpi.js';
import { parseLocalCpiConfig } from '../../../cpi/local/config.js';
import { CallCounter, countingAgents, countingCpi } from '../../../src/deploy/call-counter.js';
import type { AgentDialer, InstanceAgent } from '../../../src/deploy/ports.js';

test('countingCpi counts every call on a real local CPI and tells mutating calls from reads', async () => {
  const root = await mkdtemp(join(tmpdir(), 'director-counter-'));
  try {
    const counter = new CallCounter();
    const cpi = countingCpi(
      new LocalCpi(parseLocalCpiConfig({ root, ssh_port: 2222, load_balancers: {} }), { directorUuid: 'd-uuid' }),
      counter,
    );
    assert.equal(await cpi.hasVm('vm-00000000-0000-0000-0000-000000000000'), false);
    const disk = await cpi.createDisk(10, {});
    assert.equal(await cpi.hasDisk(disk), true);
    await cpi.deleteDisk(disk);
    assert.deepEqual(Object.fromEntries(counter.calls), {
      'cpi.hasVm': 1,
      'cpi.createDisk': 1,
      'cpi.hasDisk': 1,
      'cpi.deleteDisk': 1,
    });
    assert.equal(counter.mutating('cpi'), 2);
    assert.equal(counter.mutating('agent'), 0);
    counter.reset();
    assert.equal(counter.calls.size, 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('countingAgents counts agent calls per VM address; get_state is not a mutation', async () => {
  const seen: string[] = [];
  const agent = (address: string): InstanceAgent =>
    ({
      getState: async () => ({ state: 'running', jobs: [] }),
      apply: async () => void seen.push(`apply ${address}`),
    }) as unknown as InstanceAgent;
  const dialer: AgentDialer = { agent: (vm) => agent(vm.address), closeAll: async () => undefined };
  const counter = new CallCounter();
  const counted = countingAgents(dialer, counter);
  await counted.agent({ address: '127.0.0.1', hostPublicKey: 'k', agentId: 'a' }).getState();
  await counted.agent({ address: '127.0.0.2', hostPublicKey: 'k', agentId: 'b' }).apply([]);
  assert.deepEqual(seen, ['apply 127.0.0.2']);
  assert.deepEqual(counter.targets.get('agent.apply'), ['127.0.0.2']);
  assert.equal(counter.mutating('agent'), 1);
  assert.equal(counter.mutating(), 1);
});
