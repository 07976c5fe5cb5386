// A local VM's vitals are its own: the agent sums the processes that carry its DIRECTOR_VM_ID
// (memory, CPU, runnable count) and counts uptime from the oldest of them, not the host's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { killMarkedProcesses } from '../../helpers/processes.js';
import { agentBundle, type AgentBundle } from '../../e2e/agent-bundle.js';

let bundle: AgentBundle;
let root: string;
let hog: ChildProcess;
const marker = `agent-vitals-${randomBytes(6).toString('hex')}`;
const env = { ...process.env, DIRECTOR_VM_ID: marker };

before(async () => {
  bundle = await agentBundle();
  root = mkdtempSync(join(tmpdir(), 'agent-vitals-'));
  // A process of the VM holding 64 MiB, so its memory is visibly the VM's.
  hog = spawn(
    process.execPath,
    [
      '-e',
      "const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000); process.stdout.write('ready\\n');",
    ],
    { env, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise<void>((r) => hog.stdout!.once('data', () => r()));
});
after(async () => {
  hog.kill();
  await killMarkedProcesses('DIRECTOR_VM_ID', marker);
  rmSync(root, { recursive: true, force: true });
  await bundle?.cleanup();
});

test("get_state's vitals on a local VM: its processes' memory and uptime, not the host's", () => {
  const r = spawnSync(process.execPath, [bundle.path, 'get_state', '--root', root], {
    input: JSON.stringify({ vitals: true }),
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as {
    ok: boolean;
    value: { vitals: { mem: { kb: string; percent: string }; uptime: { secs: number }; load: string[] } };
  };
  assert.ok(res.ok, r.stdout + r.stderr);
  const v = res.value.vitals;
  const hogRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${hog.pid}/status`, 'utf8'))?.[1]);
  const kb = Number(v.mem.kb);
  assert.ok(kb >= hogRss, `the VM's memory (${kb} kB) includes its process's ${hogRss} kB`);
  assert.ok(kb < hogRss + 512 * 1024, `and is the VM's processes only, not the host's used memory (${kb} kB)`);
  assert.ok(Number(v.mem.percent) <= (100 * (kb + 1024)) / (totalmem() / 1024));
  assert.ok(
    v.uptime.secs < 120 && v.uptime.secs <= uptime(),
    `uptime counts from the VM's oldest process (${v.uptime.secs} s)`,
  );
  assert.equal(v.load.length, 3);
});
