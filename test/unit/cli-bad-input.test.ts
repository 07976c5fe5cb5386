import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../../src/state/index.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/director-process.js';

/**
 * The bad-input corpus (test/fixtures/bad-input/cases): each file is refused with one clear
 * error of at most three lines that names the file, the place in it and the value found, no
 * stack trace, exit code 1, and the state file byte for byte as it was (a refused first deploy
 * leaves no deployment row). The environment is the local CPI's, made by create-env in-process;
 * no VM is started.
 */

const fixtures = join(repoRoot, 'test', 'fixtures', 'bad-input');
const caseFile = (name: string) => join(fixtures, 'cases', `${name}.yml`);
let dir: string;
let state: string;
const cli = (...args: string[]) =>
  runCli([...args, '--state', state], { cwd: dir, env: { HOME: dir, DIRECTOR_HOME: join(dir, '.director') } });

/** The state file's bytes (and its WAL's, if one is left), hashed. */
function stateHash(): string {
  const h = createHash('sha256');
  for (const f of [state, `${state}-wal`]) if (existsSync(f)) h.update(readFileSync(f));
  return h.digest('hex');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-bad-input-'));
  state = join(dir, 'env', 'state.db');
  const created = await cli('create-env', join(fixtures, 'env.yml'));
  assert.equal(created.code, 0, created.stderr);
  const uploaded = await cli('upload-release', join(fixtures, 'release'));
  assert.equal(uploaded.code, 0, uploaded.stderr);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `args` and checks the standard: one short error naming `file`, exit 1, state untouched. */
async function refused(args: readonly string[], file: string, expected: readonly RegExp[]): Promise<string> {
  const before = stateHash();
  const r = await cli(...args);
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 3, `at most three lines:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|Cannot read properties/, 'no stack trace, no crash');
  assert.ok(r.stderr.includes(`'${file}'`), `names the file '${file}':\n${r.stderr}`);
  for (const re of expected) assert.match(r.stderr, re);
  assert.equal(stateHash(), before, 'the state file is unchanged');
  return r.stderr;
}

const deployCases: readonly (readonly [name: string, expected: readonly RegExp[]])[] = [
  ['empty', [/the manifest is empty/]],
  ['root-list', [/expected a map at the root, found a list/]],
  ['root-scalar', [/expected a map at the root, found a string 'bad-input'/]],
  ['no-name', [/name: is required/]],
  [
    'v1-keys',
    [
      /resource_pools: is a v1 key: give each instance group a 'vm_type'/,
      /networks: is a v1 key: networks belong in the cloud-config/,
      /compilation: is a v1 key/,
    ],
  ],
  [
    'undeclared-link',
    [
      /instance_groups 'worker'\.jobs 'app'\.consumes\.cache: job 'app' \(release 'tiny'\) does not consume a link 'cache' \(its spec declares: 'db'\)/,
    ],
  ],
  [
    'variable-unknown-type',
    [
      /variables 'admin_password'\.type: unknown type 'passwd' \(expected one of certificate, password, rsa, ssh, user\)/,
    ],
  ],
  ['variable-no-type', [/variables 'admin_password'\.type: is required/]],
  ['ca-undefined', [/variables 'tls'\.options\.ca: 'missing_ca' is not defined/]],
  [
    'ca-not-certificate',
    [/variables 'tls'\.options\.ca: 'admin_password' is not a certificate \(its type is 'password'\)/],
  ],
  [
    'watch-min-over-max',
    [
      /instance_groups 'worker'\.update\.canary_watch_time: the minimum is greater than the maximum, found '30000-1000'/,
    ],
  ],
  ['max-in-flight-over-100', [/update\.max_in_flight: expected a percentage from 1% to 100%, found '150%'/]],
  ['group-instances-string', [/instance_groups 'worker'\.instances: expected number, found string/]],
];

for (const [name, expected] of deployCases) {
  test(`deploy refuses ${name}.yml before writing anything`, async () => {
    const file = caseFile(name);
    await refused(['deploy', '-d', 'bad-input', file, '-n'], file, [
      /^Error: Validating deployment manifest '/,
      ...expected,
    ]);
    const store = openStateStore(state);
    try {
      assert.deepEqual(store.deployments.list(), [], 'no deployment row');
    } finally {
      store.close();
    }
  });
}

for (const [name, extra, named, expected] of [
  [
    'ops-file',
    ['-o', caseFile('ops-missing-key')],
    caseFile('ops-missing-key'),
    /Applying ops-file '.*ops-missing-key\.yml'.*Expected to find a map key 'nope' for path/,
  ],
  [
    'vars file',
    ['-l', caseFile('vars-list')],
    caseFile('vars-list'),
    /Deserializing variables file '.*vars-list\.yml': expected a map, found/,
  ],
] as const) {
  test(`deploy refuses a bad ${name}, naming it, before writing anything`, async () => {
    await refused(['deploy', '-d', 'bad-input', join(fixtures, 'good.yml'), ...extra, '-n'], named, [expected]);
  });
}

test('deploy refuses a manifest that is not YAML, naming its line and column', async () => {
  const file = caseFile('malformed');
  await refused(['deploy', '-d', 'bad-input', file, '-n'], file, [
    /Parsing YAML file '.*malformed\.yml': line \d+, column \d+: /,
  ]);
});

test('deploy refuses a manifest for another deployment than -d names, before writing anything', async () => {
  const file = join(fixtures, 'good.yml');
  const err = await refused(['deploy', '-d', 'other', file, '-n'], file, [
    /name: the manifest is for deployment 'bad-input', not 'other' \(-d other\)/,
  ]);
  assert.doesNotMatch(err, /Using deployment/);
});

test('the corpus starts from a manifest the same checks accept (so each case fails for its own reason)', async () => {
  const r = await cli('deploy', '-d', 'bad-input', join(fixtures, 'good.yml'), '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Dry run: nothing was changed/);
});

for (const [name, expected] of [
  [
    'cc-overlap',
    /networks 'default'\.subnets\[1\]\.range: '127\.12\.0\.128\/25' overlaps subnets\[0\] '127\.12\.0\.0\/24'/,
  ],
  [
    'cc-duplicates',
    /vm_types\[1\]\.name: duplicate name 'default'; networks 'default'\.subnets\[0\]\.azs: unknown az 'z9'/,
  ],
  [
    'cc-reserved-outside',
    /networks 'default'\.subnets\[0\]\.reserved: '127\.13\.0\.2 - 127\.13\.0\.9' is outside range '127\.12\.0\.0\/24'/,
  ],
] as const) {
  test(`update-cloud-config refuses ${name}.yml`, async () => {
    const file = caseFile(name);
    await refused(['update-cloud-config', file, '-n'], file, [expected]);
  });
}
