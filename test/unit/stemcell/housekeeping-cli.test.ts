import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { environmentCpi } from '../../../src/cli/context.js';
import { packTgz } from '../../../src/release/tar.js';
import { openStateStore, type StateStore } from '../../../src/state/index.js';
import { runCli } from '../../helpers/cli.js';

/**
 * The housekeeping commands end to end through the CLI, in-process, on the local CPI: light
 * stemcell tarballs built here, a deployment and an orphaned disk recorded as a deploy would.
 */

let dir: string;
let state: string;
let localRoot: string;
const env = () => ({ HOME: dir, DIRECTOR_HOME: join(dir, '.director') });
const cli = (...args: string[]) => runCli([...args, '--state', state], { cwd: dir, env: env() });

function stemcellMf(name: string, version: string, extra = ''): string {
  return `---\nname: ${name}\nversion: ${version}\nbosh_protocol: '1'\napi_version: 3\noperating_system: ubuntu-jammy\nstemcell_formats:\n- local\ncloud_properties:\n  root_device_name: /dev/sda1\n${extra}`;
}

async function tarball(file: string, entries: Record<string, string | Buffer>): Promise<string> {
  const path = join(dir, file);
  await writeFile(
    path,
    packTgz(Object.entries(entries).map(([p, d]) => ({ path: p, mode: 0o644, data: Buffer.from(d) }))),
  );
  return path;
}

const light = (name: string, version: string) =>
  tarball(`light-${name}-${version}.tgz`, { 'stemcell.MF': stemcellMf(name, version), image: '' });

async function cpiStemcells(): Promise<string[]> {
  return (await readdir(join(localRoot, 'stemcells')).catch(() => [] as string[]))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

function withStore<T>(fn: (s: StateStore) => T): T {
  const s = openStateStore(state);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-housekeeping-'));
  state = join(dir, 'env', 'state.db');
  localRoot = join(dir, 'env', 'local');
  await writeFile(
    join(dir, 'env.yml'),
    `name: hk\ncpi:\n  type: local\n  properties:\n    ssh_port: 2222\n    load_balancers: {}\nstemcell:\n  name: bosh-local-ubuntu-jammy\n  os: ubuntu-jammy\n  version: "1.0"\n  cloud_properties: {}\ncloud_config:\n  azs: [{name: z1}]\n  vm_types: [{name: default}]\n  networks: [{name: default, type: manual, subnets: [{range: 127.11.0.0/24, gateway: 127.11.0.1, azs: [z1], static: [127.11.0.10]}]}]\n  compilation: {workers: 1, network: default, az: z1, vm_type: default}\n`,
  );
  const r = await cli('create-env', join(dir, 'env.yml'));
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('upload-stemcell hands a light stemcell to the CPI, records it, and lists it; again it is skipped', async () => {
  const path = await light('bosh-local-light', '621.125');
  const r = await cli('upload-stemcell', path);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /Task \d+ \| \d\d:\d\d:\d\d \| Update stemcell: Uploading stemcell bosh-local-light\/621\.125 to the cloud \(00:00:0\d\)/,
  );
  const rec = withStore((s) => s.stemcells.find('bosh-local-light', '621.125', 'local'));
  assert.ok(rec);
  assert.equal(rec.os, 'ubuntu-jammy');
  assert.ok((await cpiStemcells()).includes(rec.cid), 'the CPI holds the stemcell');
  assert.match(r.stdout, new RegExp(`Stemcell bosh-local-light/621\\.125 uploaded \\(${rec.cid}\\)`));

  const listed = await cli('stemcells', '--json');
  const rows = JSON.parse(listed.stdout).Tables[0].Rows as Record<string, string>[];
  assert.deepEqual(
    rows.find((x) => x['name'] === 'bosh-local-light'),
    { name: 'bosh-local-light', version: '621.125', os: 'ubuntu-jammy', cpi: 'local', cid: rec.cid },
  );

  const tasksBefore = withStore((s) => s.tasks.list().length);
  const again = await cli('upload-stemcell', path);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^Stemcell 'bosh-local-light\/621\.125' already exists, skipped$/m);
  assert.equal(
    withStore((s) => s.tasks.list().length),
    tasksBefore,
    'nothing was done',
  );
  const byFlags = await cli(
    'upload-stemcell',
    join(dir, 'does-not-exist.tgz'),
    '--name',
    'bosh-local-light',
    '--version',
    '621.125',
  );
  assert.equal(byFlags.code, 0, byFlags.stderr);
  assert.match(byFlags.stdout, /already exists, skipped/);
});

test('upload-stemcell --fix uploads again, replaces the CID and deletes the unused old image', async () => {
  const path = await light('bosh-local-fix', '1');
  assert.equal((await cli('upload-stemcell', path)).code, 0);
  const old = withStore((s) => s.stemcells.find('bosh-local-fix', '1', 'local'))!;
  const r = await cli('upload-stemcell', path, '--fix');
  assert.equal(r.code, 0, r.stderr);
  const now = withStore((s) => s.stemcells.find('bosh-local-fix', '1', 'local'))!;
  assert.notEqual(now.cid, old.cid);
  const held = await cpiStemcells();
  assert.ok(held.includes(now.cid) && !held.includes(old.cid), `the CPI holds the new image only: ${held.join(', ')}`);
});

test('an unpacked stemcell folder uploads as the tarball does; --version must match the manifest', async () => {
  const folder = join(dir, 'unpacked');
  await mkdir(folder);
  await writeFile(join(folder, 'stemcell.MF'), stemcellMf('bosh-local-folder', '3586.10'));
  await writeFile(join(folder, 'image'), '');
  const wrong = await cli('upload-stemcell', folder, '--version', '3586.1');
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, `Error: Stemcell '${folder}': its version is '3586.10', not '3586.1' as --version says\n`);
  const r = await cli('upload-stemcell', 'unpacked', '--name', 'bosh-local-folder', '--version', '3586.10');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    withStore((s) => s.stemcells.find('bosh-local-folder', '3586.10', 'local')),
    'the version is kept as written, not as the float 3586.1',
  );
});

test('a malformed stemcell is one line naming the file and what is wrong; nothing is recorded or created', async () => {
  const image = Buffer.from('not really a disk image');
  const cases: [string, string, RegExp][] = [
    ['not-a-tarball.tgz', '', /: it is empty$/],
    ['no-version.tgz', 'x', /: stemcell\.MF: 'version' must be a string or a number, found nothing$/],
    ['no-image.tgz', 'x', /: the archive holds no 'image'$/],
    [
      'bad-sha1.tgz',
      'x',
      /: the image's sha1 is [0-9a-f]{40}, but stemcell\.MF says 0{40} \(a corrupted download\?\)$/,
    ],
    ['garbage.tgz', 'x', /: it is not a tar archive$/],
  ];
  await writeFile(join(dir, 'not-a-tarball.tgz'), '');
  await writeFile(join(dir, 'garbage.tgz'), Buffer.alloc(2048, 7));
  await tarball('no-version.tgz', { 'stemcell.MF': 'name: x\noperating_system: ubuntu-jammy\n', image: '' });
  await tarball('no-image.tgz', { 'stemcell.MF': stemcellMf('bosh-local-noimage', '1') });
  await tarball('bad-sha1.tgz', {
    'stemcell.MF': stemcellMf('bosh-local-badsha', '1', `sha1: ${'0'.repeat(40)}\n`),
    image,
  });
  const before = withStore((s) => ({ stemcells: s.stemcells.list().length, tasks: s.tasks.list().length }));
  const cpiBefore = await cpiStemcells();
  for (const [file, , expected] of cases) {
    const r = await cli('upload-stemcell', file);
    assert.equal(r.code, 1, file);
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`Error: Stemcell '${join(dir, file)}': `), r.stderr);
    assert.match(r.stderr.trim(), expected);
  }
  assert.deepEqual(
    withStore((s) => ({ stemcells: s.stemcells.list().length, tasks: s.tasks.list().length })),
    before,
  );
  assert.deepEqual(await cpiStemcells(), cpiBefore);
  const leftovers = (await readdir(join(dir, 'env'))).filter((f) => f.startsWith('.stemcell-upload-'));
  assert.deepEqual(leftovers, [], 'no scratch folder is left behind');

  const good = await tarball('good-sha1.tgz', {
    'stemcell.MF': stemcellMf('bosh-local-goodsha', '1', `sha1: ${createHash('sha1').update(image).digest('hex')}\n`),
    image,
  });
  assert.equal((await cli('upload-stemcell', good)).code, 0, 'a matching sha1 passes');
});

test('a stemcell a deployment uses is starred, and delete-stemcell refuses it (naming the deployment) unless --force', async () => {
  assert.equal((await cli('upload-stemcell', await light('bosh-local-used', '1'))).code, 0);
  withStore((s) => {
    s.deployments.ensure('my-cluster');
    s.deployments.recordDeployed(
      'my-cluster',
      'name: my-cluster\nstemcells:\n- alias: default\n  name: bosh-local-used\n  version: latest\n',
      s.cloudConfigs.latest()!.version,
    );
  });
  const listed = await cli('stemcells');
  assert.match(listed.stdout, /^bosh-local-used\s+1\*\s+ubuntu-jammy\s+local\s+sc-/m);
  assert.match(listed.stdout, /\(\*\) Currently deployed/);

  const refused = await cli('delete-stemcell', 'bosh-local-used/1', '-n');
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    "Error: Stemcell 'bosh-local-used/1' is still in use by deployment(s) 'my-cluster': delete them first or use --force\n",
  );
  const cid = withStore((s) => s.stemcells.find('bosh-local-used', '1', 'local')!.cid);
  const forced = await cli('delete-stemcell', 'bosh-local-used/1', '--force', '-n');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /Deleting stemcell from cloud: bosh-local-used\/1/);
  assert.equal(
    withStore((s) => s.stemcells.find('bosh-local-used', '1')),
    undefined,
  );
  assert.ok(!(await cpiStemcells()).includes(cid));
  const gone = await cli('delete-stemcell', 'bosh-local-used/1', '-n');
  assert.equal(gone.code, 0);
  assert.match(gone.stdout, /does not exist: nothing to delete/);
  withStore((s) => s.deployments.delete('my-cluster'));
});

/** An orphaned disk as a deploy leaves one: created by the CPI, recorded, then orphaned. */
async function orphanDisk(uuid: string, sizeMb: number): Promise<string> {
  const s = openStateStore(state);
  try {
    const cpi = (await environmentCpi(s.environment.get()!, join(dir, 'env'))).cpi;
    s.deployments.ensure('old-cluster');
    s.instances.create({
      deployment: 'old-cluster',
      group: 'etcd',
      index: 0,
      uuid,
      az: 'z1',
      bootstrap: true,
      state: 'started',
    });
    const cid = await cpi.createDisk(sizeMb, {});
    const intent = s.disks.recordIntent({ instance: uuid, sizeMb, cloudProperties: {} });
    s.disks.complete(intent.id, cid);
    s.disks.orphan(cid);
    s.instances.delete(uuid);
    return cid;
  } finally {
    s.close();
  }
}

test('disks --orphaned lists orphaned disks; delete-disk deletes one through the CPI', async () => {
  const bare = await cli('disks');
  assert.equal(bare.code, 1);
  const cid = await orphanDisk('uuid-etcd-0', 10240);
  const listed = await cli('disks', '--orphaned');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^Disk CID\s+Size\s+Deployment\s+Instance\s+AZ\s+Orphaned At$/m);
  assert.match(
    listed.stdout,
    new RegExp(
      `^${cid}\\s+10 GiB\\s+old-cluster\\s+etcd/uuid-etcd-0\\s+z1\\s+\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d UTC \\d{4}$`,
      'm',
    ),
  );
  const json = JSON.parse((await cli('disks', '--orphaned', '--json')).stdout);
  assert.deepEqual(Object.keys(json.Tables[0].Header), [
    'disk_cid',
    'size',
    'deployment',
    'instance',
    'az',
    'orphaned_at',
  ]);
  assert.equal(json.Tables[0].Rows[0].disk_cid, cid);

  const cpi = (
    await environmentCpi(
      withStore((s) => s.environment.get()!),
      join(dir, 'env'),
    )
  ).cpi;
  assert.equal(await cpi.hasDisk(cid), true);
  const r = await cli('delete-disk', cid, '-n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Deleting orphaned disk: ${cid}`));
  assert.equal(await cpi.hasDisk(cid), false);
  assert.deepEqual(
    withStore((s) => s.disks.listOrphaned()),
    [],
  );
  const tasks = await cli('tasks', '--json');
  assert.ok(
    (JSON.parse(tasks.stdout).Tables[0].Rows as { description: string; state: string }[]).some(
      (t) => t.description === `delete orphan disk: ${cid}` && t.state === 'done',
    ),
  );
});

test('clean-up keeps the two newest unused versions of each name and what deployments use; --all removes every unused one and the orphaned disks', async () => {
  for (const v of ['1', '2', '10', '3'])
    assert.equal((await cli('upload-stemcell', await light('bosh-local-many', v))).code, 0);
  assert.equal((await cli('upload-stemcell', await light('bosh-local-pinned', '1'))).code, 0);
  withStore((s) => {
    for (const v of ['1', '2', '3']) s.releases.add({ name: 'cfcr', version: v, jobs: [], packages: [] });
    s.deployments.ensure('pinned');
    s.deployments.recordDeployed(
      'pinned',
      'name: pinned\nreleases:\n- {name: cfcr, version: "1"}\nstemcells:\n- {alias: default, os: ubuntu-jammy, version: "1"}\n',
      s.cloudConfigs.latest()!.version,
    );
  });
  const disk = await orphanDisk('uuid-etcd-1', 1024);
  const scBefore = withStore((s) =>
    s.stemcells
      .list()
      .map((x) => `${x.name}/${x.version}`)
      .sort(),
  );

  const r = await cli('clean-up', '-n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Deleting stemcells: bosh-local-many\/1 \(sc-/);
  assert.match(r.stdout, /Deleted 0 release\(s\), 2 stemcell\(s\), 0 orphaned disk\(s\)/);
  const scAfter = withStore((s) =>
    s.stemcells
      .list()
      .map((x) => `${x.name}/${x.version}`)
      .sort(),
  );
  // bosh-local-many: 1 and 2 go, 3 and 10 (numeric order) stay; single versions of other names stay
  assert.deepEqual(scBefore.filter((x) => !scAfter.includes(x)).sort(), ['bosh-local-many/1', 'bosh-local-many/2']);
  assert.deepEqual(
    withStore((s) =>
      s.releases
        .list()
        .map((x) => x.version)
        .sort(),
    ),
    ['1', '2', '3'],
    'cfcr/1 is used; 2 and 3 are the two newest unused',
  );
  assert.deepEqual(
    withStore((s) => s.disks.listOrphaned().map((d) => d.cid)),
    [disk],
  );

  const all = await cli('clean-up', '--all', '-n');
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Releases to delete/);
  assert.match(all.stdout, new RegExp(`Deleting orphaned disks: ${disk}`));
  assert.deepEqual(
    withStore((s) => s.releases.list().map((x) => `${x.name}/${x.version}`)),
    ['cfcr/1'],
  );
  // what the deployment names stays: its os + version matches both ubuntu-jammy stemcells "1" by os; the first recorded is used
  const left = withStore((s) => s.stemcells.list());
  assert.equal(left.length, 1, left.map((x) => `${x.name}/${x.version}`).join(', '));
  assert.equal(left[0]!.version, '1');
  assert.deepEqual(
    withStore((s) => s.disks.listOrphaned()),
    [],
  );
  assert.ok(!existsSync(join(localRoot, 'disks', disk)));
  const nothing = await cli('clean-up', '--all', '-n');
  assert.match(nothing.stdout, /Nothing to clean up/);
});
