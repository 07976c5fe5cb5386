import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { systemArmClock } from '../../../../cpi/azure/arm-requests.js';
import { VmLocks } from '../../../../cpi/azure/vm-locks.js';

// One operation at a time per VM across processes: another process holding a VM's lock makes
// this one wait until it lets go; a lock whose process is gone is taken over.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-locks-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const locksModule = fileURLToPath(new URL('../../../../cpi/azure/vm-locks.js', import.meta.url));
const clockModule = fileURLToPath(new URL('../../../../cpi/azure/arm-requests.js', import.meta.url));

test('a second process waits for the VM lock the first holds; the order of their work is kept', async () => {
  const log = join(dir, 'order.log');
  const script = `
    const { VmLocks } = await import(${JSON.stringify(locksModule)});
    const { systemArmClock } = await import(${JSON.stringify(clockModule)});
    const { appendFileSync } = await import('node:fs');
    await new VmLocks(${JSON.stringify(join(dir, 'locks'))}, systemArmClock).run('sub/rg/vm-1', async () => {
      appendFileSync(${JSON.stringify(log)}, 'child holds\\n');
      await new Promise((r) => setTimeout(r, 300));
      appendFileSync(${JSON.stringify(log)}, 'child lets go\\n');
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  while (!existsSync(log)) await new Promise((r) => setTimeout(r, 10));
  await new VmLocks(join(dir, 'locks'), systemArmClock).run('sub/rg/vm-1', async () => {
    appendFileSync(log, 'parent holds\n');
  });
  assert.equal(await exited, 0);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['child holds', 'child lets go', 'parent holds']);
});

test('a lock left by a process that is gone is taken over', async () => {
  const locks = join(dir, 'stale');
  const script = `
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    mkdirSync(${JSON.stringify(locks)}, { recursive: true });
    writeFileSync(${JSON.stringify(locks)} + '/' + createHash('sha256').update('sub/rg/vm-2').digest('hex').slice(0, 32) + '.lock', String(process.pid));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  assert.equal(await new Promise<number | null>((r) => child.on('exit', r)), 0);
  let ran = false;
  await new VmLocks(locks, systemArmClock).run('sub/rg/vm-2', async () => {
    ran = true;
  });
  assert.equal(ran, true);
});
