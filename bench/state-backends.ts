// `npm run bench -- state`: the same small deployment (test/fixtures/operate's release, two
// instances) on the local CPI with its state in a SQLite file, then in PostgreSQL (a throw-away
// cluster, as the tests start it); a no-op redeploy and `vms` timed as an operator runs them (a
// CLI process each), PostgreSQL's figures as ratios of SQLite's measured in the same run.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDirector } from '../test/helpers/director-process.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { fmt, repoRoot } from './common.js';
import { median, openSandbox } from './sandbox.js';

const RUNS = 5;
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'operate');

interface Figures {
  readonly redeployMs: number;
  readonly vmsMs: number;
}

async function timed(args: readonly string[], env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const r = await runDirector(args, env);
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`director ${args.join(' ')} failed:\n${r.stdout.slice(-2000)}\n${r.stderr}`);
  return ms;
}

async function measure(label: string, state: (dir: string) => Promise<Record<string, string>>): Promise<Figures> {
  const box = await openSandbox(`bench-state-${label}`);
  const env = { HOME: box.dir, DIRECTOR_HOME: join(box.dir, '.director'), ...(await state(box.dir)) };
  try {
    await writeFile(
      join(box.dir, 'ops.yml'),
      `- type: replace
  path: /cpi/properties/root?
  value: ${box.root}
- type: replace
  path: /cpi/properties/ssh_port
  value: ${box.sshPort}
- type: replace
  path: /cloud_config/networks/name=default/subnets
  value:
  - range: ${box.net}.0/24
    gateway: ${box.net}.1
    reserved: [${box.net}.2 - ${box.net}.9]
    static: [${box.net}.10 - ${box.net}.19]
    azs: [z1, z2, z3]
    dns: [127.0.0.53]
`,
    );
    await timed(
      [
        'create-env',
        join(repoRoot, 'manifests', 'env.yml'),
        '-o',
        join(FIXTURES, 'env-ops.yml'),
        '-o',
        join(box.dir, 'ops.yml'),
      ],
      env,
    );
    await timed(['upload-release', join(FIXTURES, 'release')], env);
    await writeFile(join(box.dir, 'manifest.yml'), MANIFEST);
    const deploy = ['deploy', '-d', 'bench', join(box.dir, 'manifest.yml'), '-n'];
    await timed(deploy, env);
    const redeploys: number[] = [];
    const vms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      redeploys.push(await timed(deploy, env));
      vms.push(await timed(['vms', '-d', 'bench'], env));
    }
    await runDirector(['delete-deployment', '-d', 'bench', '-n'], env);
    await runDirector(['delete-env', '--force', '-n'], env);
    return { redeployMs: median(redeploys), vmsMs: median(vms) };
  } finally {
    await box.cleanup();
  }
}

const MANIFEST = `name: bench
releases:
- name: operate
  version: latest
stemcells:
- alias: default
  os: ubuntu-jammy
  version: latest
update:
  canaries: 1
  max_in_flight: 2
  canary_watch_time: 1000-20000
  update_watch_time: 1000-20000
instance_groups:
- name: idler
  instances: 2
  azs: [z1, z2]
  vm_type: minimal
  stemcell: default
  networks:
  - name: default
  jobs:
  - name: keeper
    release: operate
`;

export async function benchStateBackends(): Promise<string[]> {
  // SQLite: the default, a file under the HOME's ~/.director that create-env makes current.
  const sqlite = await measure('sqlite', async () => ({}));
  const pg = await startPostgres();
  let postgres: Figures;
  try {
    postgres = await measure('postgres', async () => ({
      DIRECTOR_STATE_URL: await pg.createDatabase(),
      PGPASSWORD: pg.password,
    }));
  } finally {
    await pg.stop();
  }
  return [
    `state: 2 instances on the local CPI, median of ${RUNS} CLI runs each; PostgreSQL on loopback (a throw-away cluster), SQLite a local file`,
    `state: no-op redeploy  sqlite ${fmt(sqlite.redeployMs / 1000, 2)} s, postgres ${fmt(postgres.redeployMs / 1000, 2)} s, ratio ${fmt(postgres.redeployMs / sqlite.redeployMs, 2)}`,
    `state: vms             sqlite ${fmt(sqlite.vmsMs / 1000, 2)} s, postgres ${fmt(postgres.vmsMs / 1000, 2)} s, ratio ${fmt(postgres.vmsMs / sqlite.vmsMs, 2)}`,
  ];
}
