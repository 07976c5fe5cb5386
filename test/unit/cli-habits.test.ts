import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packTgz } from '../../src/release/tar.js';
import { formatTime, renderTable } from '../../src/cli/table.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot, startDirector } from '../helpers/director-process.js';

/**
 * bosh-cli's habits, as an operator's fingers have them: global flags before the command, the
 * BOSH_* environment variables, answers to "Continue?" from a pipe, --column, one time format,
 * output that survives `| head`. An environment made by create-env in-process (local CPI, no VM).
 */

let dir: string;
const env = (extra: Record<string, string> = {}) => ({ HOME: dir, DIRECTOR_HOME: join(dir, '.director'), ...extra });
const cli = (args: readonly string[], opts: { env?: Record<string, string>; stdin?: string } = {}) =>
  runCli(args, { cwd: dir, env: env(opts.env), ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });

async function uploadLight(version: string): Promise<void> {
  const mf = `---\nname: bosh-local-light\nversion: '${version}'\nbosh_protocol: '1'\napi_version: 3\noperating_system: ubuntu-jammy\nstemcell_formats:\n- local\ncloud_properties: {}\n`;
  const path = join(dir, `light-${version}.tgz`);
  await writeFile(
    path,
    packTgz([
      { path: 'stemcell.MF', mode: 0o644, data: Buffer.from(mf) },
      { path: 'image', mode: 0o644, data: Buffer.alloc(0) },
    ]),
  );
  const r = await cli(['-e', 'habits', 'upload-stemcell', path]);
  assert.equal(r.code, 0, r.stderr);
}

async function stemcellVersions(): Promise<string[]> {
  const r = await cli(['-e', 'habits', '--json', 'stemcells']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout).Tables[0].Rows as Record<string, string>[])
    .filter((x) => x['name'] === 'bosh-local-light')
    .map((x) => x['version']!);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-habits-'));
  const created = await cli(['-e', 'habits', 'create-env', join(repoRoot, 'test', 'fixtures', 'bad-input', 'env.yml')]);
  assert.equal(created.code, 0, created.stderr);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('global flags before the command: -e, --json and --column, as `director -e local --json deployments`', async () => {
  const r = await cli(['-e', 'habits', '--json', 'deployments']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).Tables[0].Rows, []);
  const cols = await cli(['-e', 'habits', '--column', 'Name', '--column', 'os', 'stemcells']);
  assert.equal(cols.code, 0, cols.stderr);
  assert.match(cols.stdout, /^Name\s+OS\nbosh-local-ubuntu-jammy\s+ubuntu-jammy\n/);
  assert.doesNotMatch(cols.stdout, /Version|CID/);
  const after = await cli(['stemcells', '-e', 'habits', '--column', 'version', '--json']);
  assert.deepEqual(JSON.parse(after.stdout).Tables[0].Rows, [{ version: '1.0' }]);
  const unknown = await cli(['-e', 'habits', 'stemcells', '--column', 'Colour']);
  assert.equal(unknown.code, 1);
  assert.equal(
    unknown.stderr,
    "Error: Unknown column 'Colour' (columns of stemcells: 'Name', 'Version', 'OS', 'CPI', 'CID')\n",
  );
  const state = await cli(['--state', join(dir, '.director', 'habits', 'state.db'), '--json', 'deployments']);
  assert.equal(state.code, 0, state.stderr);
  for (const flags of [['--tty'], ['--no-color']])
    assert.equal((await cli([...flags, '-e', 'habits', 'deployments'])).code, 0, flags.join(' '));
});

test('BOSH_ENVIRONMENT and BOSH_DEPLOYMENT beside the DIRECTOR_* names; vms -d of an unknown deployment is an error', async () => {
  const r = await cli(['deployments', '--json'], { env: { BOSH_ENVIRONMENT: 'habits' } });
  assert.equal(r.code, 0, r.stderr);
  const before = await cli(['-e', 'habits', '-d', 'nope', 'vms']);
  assert.deepEqual([before.code, before.stderr], [1, "Error: Deployment 'nope' does not exist\n"]);
  const fromEnv = await cli(['vms'], { env: { BOSH_ENVIRONMENT: 'habits', BOSH_DEPLOYMENT: 'nope' } });
  assert.deepEqual([fromEnv.code, fromEnv.stderr], [1, "Error: Deployment 'nope' does not exist\n"]);
  const instances = await cli(['instances', '-d', 'nope'], { env: { DIRECTOR_ENVIRONMENT: 'habits' } });
  assert.deepEqual([instances.code, instances.stderr], [1, "Error: Deployment 'nope' does not exist\n"]);
});

test('Continue? is answered from a pipe: n stops, y proceeds, no answer is refused with a pointer to -n', async () => {
  await uploadLight('1');
  const no = await cli(['-e', 'habits', 'delete-stemcell', 'bosh-local-light/1'], { stdin: 'n\n' });
  assert.equal(no.code, 0, no.stderr);
  assert.match(no.stdout, /Continue\? \[yN\]: n\n/);
  assert.deepEqual(await stemcellVersions(), ['1']);
  const none = await cli(['-e', 'habits', 'delete-stemcell', 'bosh-local-light/1'], { stdin: '' });
  assert.deepEqual(
    [none.code, none.stderr],
    [
      1,
      "Error: Refusing to change the deployment without confirmation: no answer on standard input (answer 'y', or run with -n)\n",
    ],
  );
  assert.deepEqual(await stemcellVersions(), ['1']);
  const yes = await cli(['-e', 'habits', 'delete-stemcell', 'bosh-local-light/1'], { stdin: 'y\ny\ny\n' });
  assert.equal(yes.code, 0, yes.stderr);
  assert.deepEqual(await stemcellVersions(), []);
});

test('-n before the command, and BOSH_NON_INTERACTIVE=true, skip the question', async () => {
  await uploadLight('2');
  await uploadLight('3');
  const r = await cli(['-n', '-e', 'habits', 'delete-stemcell', 'bosh-local-light/2']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Continue\?/);
  const e = await cli(['-e', 'habits', 'delete-stemcell', 'bosh-local-light/3'], {
    env: { BOSH_NON_INTERACTIVE: 'true' },
  });
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(await stemcellVersions(), []);
});

test('one time format in every table: Go UnixDate, as bosh-cli prints times', async () => {
  assert.equal(formatTime('2026-12-07T03:04:05.678Z'), 'Mon Dec  7 03:04:05 UTC 2026');
  assert.equal(formatTime('2026-11-23T13:21:11Z'), 'Mon Nov 23 13:21:11 UTC 2026');
  assert.equal(formatTime(null), '-');
  const tasks = await cli(['-e', 'habits', '--json', 'tasks']);
  const rows = JSON.parse(tasks.stdout).Tables[0].Rows as Record<string, string>[];
  assert.ok(rows.length > 0);
  for (const row of rows)
    for (const key of ['started_at', 'finished_at'])
      assert.match(row[key]!, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}$/, key);
});

test('a count line can count other than rows (instances --ps counts instances, not process rows)', () => {
  const text = renderTable({
    content: 'instances',
    header: [
      ['instance', 'Instance'],
      ['process', 'Process'],
    ],
    rows: [{ instance: 'a/1' }, { instance: '~', process: 'x' }, { instance: '~', process: 'y' }],
    count: 1,
  });
  assert.match(text, /\n\n1 instances\n$/);
});

test('output survives `| head`: a reader that goes away early ends nothing in a crash', async () => {
  const big = join(dir, 'big.yml');
  await writeFile(big, Array.from({ length: 100_000 }, (_, i) => `key${i}: ${'x'.repeat(60)}`).join('\n'));
  const run = startDirector(['int', big], { HOME: dir });
  // Read the first chunk, then close the pipe, as `head -1` does.
  await new Promise<void>((resolve) => run.child.stdout!.once('data', () => resolve()));
  run.child.stdout!.destroy();
  const r = await run.done;
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});
