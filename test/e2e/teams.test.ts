// Two operators, one team: two HOMEs sharing one PostgreSQL state and one blob container in
// Azurite, on the local CPI (its VMs under a root both seats share). Both deploy different
// deployments at the same time; the same deployment is refused with its holder named; the
// holder's CLI killed with SIGKILL mid-deploy gives its lock back with its database session, and
// the other operator's deploy takes over and converges; deployments, vms and tasks agree from
// both seats. Own loopback /24 (127.62.0.0/24), so the file runs beside the other e2e files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAzurite } from '../helpers/azurite.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot, runDirector, startDirector } from '../helpers/director-process.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { killMarkedProcesses } from '../helpers/processes.js';

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'operate');

let dir: string;
let pg: TestPostgres;
let azurite: { url: string; stop: () => Promise<void> };
let seat: { a: Record<string, string>; b: Record<string, string> };
const seenVms = new Set<string>();

function manifest(name: string, ip: string): string {
  return `name: ${name}
releases:
- name: operate
  version: latest
stemcells:
- alias: default
  os: ubuntu-jammy
  version: latest
update:
  canaries: 1
  max_in_flight: 1
  canary_watch_time: 1000-20000
  update_watch_time: 1000-20000
instance_groups:
- name: idler
  instances: 1
  azs: [z1]
  vm_type: minimal
  stemcell: default
  networks:
  - name: default
    static_ips: [${ip}]
  jobs:
  - name: keeper
    release: operate
`;
}

async function ok(env: Record<string, string>, args: readonly string[]): Promise<string> {
  const r = await runDirector(args, env);
  assert.equal(r.code, 0, `director ${args.join(' ')} failed:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
  return r.stdout;
}

/** A listing's rows from `--json`, each row's columns as printed. */
async function rows(env: Record<string, string>, args: readonly string[]): Promise<Record<string, string>[]> {
  return JSON.parse(await ok(env, [...args, '--json'])).Tables[0].Rows as Record<string, string>[];
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-teams-'));
  pg = await startPostgres();
  const account = 'teamstore';
  const keys = { key1: randomBytes(32).toString('base64'), key2: randomBytes(32).toString('base64') };
  azurite = await startAzurite(account, keys);
  const url = await pg.createDatabase();
  const root = join(dir, 'vms');
  await writeFile(
    join(dir, 'teams-ops.yml'),
    `- type: replace
  path: /cpi/properties/root?
  value: ${root}
- type: replace
  path: /cloud_config/networks/name=default/subnets
  value:
  - range: 127.62.0.0/24
    gateway: 127.62.0.1
    reserved: [127.62.0.2 - 127.62.0.9]
    static: [127.62.0.10 - 127.62.0.19]
    azs: [z1, z2, z3]
    dns: [127.0.0.53]
`,
  );
  const shared = {
    DIRECTOR_STATE_URL: url,
    PGPASSWORD: pg.password,
    DIRECTOR_BLOBSTORE: 'azure://director-blobs',
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${keys.key1};BlobEndpoint=${azurite.url};`,
  };
  const home = (who: string) => ({ HOME: join(dir, who), DIRECTOR_HOME: join(dir, who, '.director'), ...shared });
  seat = { a: home('a'), b: home('b') };
});

after(async () => {
  if (seat) {
    for (const d of ['team-a', 'team-b']) {
      try {
        for (const r of await rows(seat.b, ['vms', '-d', d])) if (r['vm_cid']) seenVms.add(r['vm_cid']);
      } catch {
        // no such deployment
      }
    }
    await runDirector(['delete-env', '--force', '-n'], seat.b);
  }
  for (const cid of seenVms) await killMarkedProcesses('DIRECTOR_VM_ID', cid);
  await azurite?.stop();
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('two operators deploy different deployments at the same time from one PostgreSQL state', async () => {
  await ok(seat.a, [
    'create-env',
    join(repoRoot, 'manifests', 'env.yml'),
    '-o',
    join(FIXTURES, 'env-ops.yml'),
    '-o',
    join(dir, 'teams-ops.yml'),
  ]);
  // The release goes into the container from A's seat; B's seat reads it from there.
  await ok(seat.a, ['upload-release', join(FIXTURES, 'release')]);
  await writeFile(join(dir, 'team-a.yml'), manifest('team-a', '127.62.0.10'));
  await writeFile(join(dir, 'team-b.yml'), manifest('team-b', '127.62.0.11'));
  const a = startDirector(['deploy', '-d', 'team-a', join(dir, 'team-a.yml'), '-n'], seat.a);
  const b = startDirector(['deploy', '-d', 'team-b', join(dir, 'team-b.yml'), '-n'], seat.b);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, `A: ${ra.stdout.slice(-2000)}\n${ra.stderr}`);
  assert.equal(rb.code, 0, `B: ${rb.stdout.slice(-2000)}\n${rb.stderr}`);
  // Two deploy tasks, neither refused: different deployments do not wait for each other's lock.
  const tasks = await rows(seat.a, ['tasks']);
  const deploys = tasks.filter((t) => t['description'] === 'create deployment');
  assert.equal(deploys.length, 2);
  for (const d of ['team-a', 'team-b']) {
    const vms = await rows(seat.b, ['vms', '-d', d]);
    assert.deepEqual(
      vms.map((v) => v['process_state']),
      ['running'],
      d,
    );
    for (const v of vms) if (v['vm_cid']) seenVms.add(v['vm_cid']);
  }
});

test('the same deployment is refused with its holder named; killed with SIGKILL, the holder lets the other take over', async () => {
  const holder = startDirector(['deploy', '-d', 'team-a', join(dir, 'team-a.yml'), '--recreate', '-n'], seat.a);
  // Wait until A's task holds the deployment's lock.
  let locks: Record<string, string>[] = [];
  for (let i = 0; i < 600 && !locks.some((l) => l['resource'] === 'team-a') && holder.child.exitCode === null; i++) {
    await sleep(50);
    const r = await runCli(['locks', '--json'], { env: seat.b, cwd: repoRoot });
    if (r.code === 0) locks = JSON.parse(r.stdout).Tables[0].Rows;
  }
  assert.ok(
    locks.some((l) => l['resource'] === 'team-a'),
    'A never took the lock',
  );
  assert.equal(
    locks.find((l) => l['resource'] === 'team-a')?.['holder'],
    `${userInfo().username}@${hostname()} pid ${holder.child.pid}`,
  );
  const refused = await runDirector(['deploy', '-d', 'team-a', join(dir, 'team-a.yml'), '-n'], seat.b);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    new RegExp(
      `Deployment 'team-a' is being changed by task \\d+ \\(${userInfo().username}@${hostname()}, pid ${holder.child.pid}, since \\d\\d:\\d\\d:\\d\\d\\)`,
    ),
  );
  assert.equal(refused.stderr.trim().split('\n').length, 1);

  holder.child.kill('SIGKILL');
  const gone = await holder.done;
  assert.equal(gone.signal, 'SIGKILL');
  // B's deploy takes the lock over (A's session ended with it) and converges.
  let taken;
  for (let i = 0; i < 20; i++) {
    taken = await runDirector(['deploy', '-d', 'team-a', join(dir, 'team-a.yml'), '-n'], seat.b);
    if (taken.code === 0 || !/is being changed by/.test(taken.stderr)) break;
    await sleep(250);
  }
  assert.equal(taken?.code, 0, `${taken?.stdout.slice(-3000)}\n${taken?.stderr}`);
  const vms = await rows(seat.b, ['vms', '-d', 'team-a']);
  assert.deepEqual(
    vms.map((v) => v['process_state']),
    ['running'],
  );
  for (const v of vms) if (v['vm_cid']) seenVms.add(v['vm_cid']);
  const killedTask = (await rows(seat.b, ['tasks'])).find(
    (t) => t['deployment'] === 'team-a' && t['state'] === 'error',
  );
  assert.ok(killedTask, 'the killed deploy is recorded as an error');
});

test('deployments, vms and tasks agree from both seats', async () => {
  for (const args of [['deployments'], ['vms'], ['tasks']]) {
    assert.deepEqual(await rows(seat.a, args), await rows(seat.b, args), args.join(' '));
  }
});
