// An instance group with `jobs: []`: its VM's agent reports running once it is up, as BOSH's does
// (monit with nothing to watch), and stop does not wait for processes that do not exist.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AgentResponse } from '../../../agent/protocol.js';
import { killMarkedProcesses } from '../../helpers/processes.js';
import { agentBundle, type AgentBundle } from '../../e2e/agent-bundle.js';

let bundle: AgentBundle;
let root: string;
const marker = `agent-nojobs-${randomBytes(6).toString('hex')}`;

function run(command: string, request: unknown): { value: { state?: string } } {
  const r = spawnSync(process.execPath, [bundle.path, command, '--root', root], {
    input: JSON.stringify(request),
    env: { ...process.env, DIRECTOR_VM_ID: marker },
    encoding: 'utf8',
    timeout: 20_000,
  });
  const lines = r.stdout.trim().split('\n');
  const res = JSON.parse(lines[lines.length - 1] ?? '') as AgentResponse;
  assert.ok(res.ok, `${command}: ${r.stdout} ${r.stderr}`);
  return res as unknown as { value: { state?: string } };
}

before(async () => {
  bundle = await agentBundle();
  root = mkdtempSync(join(tmpdir(), 'agent-nojobs-'));
});
after(async () => {
  await killMarkedProcesses('DIRECTOR_VM_ID', marker);
  rmSync(root, { recursive: true, force: true });
  await bundle?.cleanup();
});

test('a VM with no jobs is running once up; start and stop answer at once', () => {
  assert.equal(run('get_state', {}).value.state, 'running');
  run('apply', { jobs: [] });
  assert.equal(run('start', {}).value.state, 'running');
  const started = Date.now();
  run('stop', { timeoutSeconds: 10 });
  assert.ok(Date.now() - started < 8000, 'stop does not wait for processes that do not exist');
  assert.equal(run('get_state', {}).value.state, 'running');
});
