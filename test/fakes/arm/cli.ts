import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeArm } from './fake-arm.js';

// Runs the fake ARM until SIGINT/SIGTERM: `node dist/test/fakes/arm/cli.js [--port N] [--dir D]
// [--polls N] [--retry-after S] [--auto-complete-ms MS] [--seed N] [--throttle-rate R]
// [--server-error-rate R] [--async-failure-rate R] [--lost-response-rate R]
// [--latency-rate R --latency-ms MS]`. Prints what a client needs.
//
// `--world` (as root): the Azure journey's walled world instead (the e2e's: the fake, Azurite, VMs
// booted in a vnet namespace, the director's own namespace), and the exact commands that run the
// journey in it; until SIGINT/SIGTERM, then everything it started is stopped and removed.

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    dir: { type: 'string' },
    'subscription-id': { type: 'string' },
    'tenant-id': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    polls: { type: 'string' },
    'retry-after': { type: 'string' },
    'auto-complete-ms': { type: 'string' },
    'lost-response-rate': { type: 'string' },
    seed: { type: 'string' },
    'throttle-rate': { type: 'string' },
    'server-error-rate': { type: 'string' },
    'async-failure-rate': { type: 'string' },
    'latency-rate': { type: 'string' },
    'latency-ms': { type: 'string' },
    world: { type: 'boolean' },
    'conflict-rate': { type: 'string' },
    'canceled-rate': { type: 'string' },
    'time-model': { type: 'boolean' },
    'time-scale': { type: 'string' },
  },
});

if (values.world) {
  const { startAzureWorld } = await import('../../e2e/azure-world.js');
  const { directorArgv, repoRoot } = await import('../../helpers/director-process.js');
  const { IP_COMMAND } = await import('../../helpers/netns.js');
  const w = await startAzureWorld();
  const q = (a: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const run = (args: readonly string[]) =>
    [
      IP_COMMAND ?? 'ip',
      'netns',
      'exec',
      w.network.director,
      'env',
      `HOME=${w.env['HOME']}`,
      `DIRECTOR_HOME=${w.env['DIRECTOR_HOME']}`,
      process.execPath,
      ...directorArgv(args),
    ]
      .map(q)
      .join(' ');
  const lines = [
    `Azure world up: fake ARM at ${w.fake.endpoint}, VMs in namespace ${w.network.vnet} (${w.net}.0/24), the director's namespace ${w.network.director}`,
    `  jumpbox public IP ${w.jumpboxAddress}, load balancer cfcr-lb ${w.lbAddress}; variables (credentials included, mode 0600) in ${w.home}/azure-vars.yml`,
    '',
    `Run the journey (from ${repoRoot}, as root):`,
    run(w.createEnvArgs),
    run(['upload-release', 'release']),
    run(w.deployArgs),
    run(['vms', '-d', 'my-cluster']),
    run(['ssh', '-d', 'my-cluster', 'master/0', '-c', 'ls jobs']),
    run(['kubeconfig', '-d', 'my-cluster']),
    '',
    "A dial to a VM from the director's namespace fails, as from outside Azure:",
    [
      IP_COMMAND ?? 'ip',
      'netns',
      'exec',
      w.network.director,
      process.execPath,
      '-e',
      `require('net').connect(22, '${w.net}.10').on('error', (e) => console.log(e.code))`,
    ]
      .map(q)
      .join(' '),
    '',
    'Ctrl-C stops the VMs, the fake and Azurite, and removes the namespaces.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the Azure world\n`);
    w.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await new Promise(() => undefined);
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

const dir = values.dir ? resolve(values.dir) : undefined;
if (dir) mkdirSync(dir, { recursive: true });

const fake = await startFakeArm({
  ...defined({
    port: num(values.port),
    host: values.host,
    dir,
    subscriptionId: values['subscription-id'],
    tenantId: values['tenant-id'],
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
  }),
  lro: defined({
    pollsBeforeDone: num(values.polls),
    retryAfterSeconds: num(values['retry-after']),
    autoCompleteMs: num(values['auto-complete-ms']),
    timeScale: num(values['time-scale']),
    latency: values['time-model'] ? ('time' as const) : undefined,
  }),
  faults: defined({
    seed: num(values.seed),
    throttleRate: num(values['throttle-rate']),
    serverErrorRate: num(values['server-error-rate']),
    asyncFailureRate: num(values['async-failure-rate']),
    lostResponseRate: num(values['lost-response-rate']),
    latencyRate: num(values['latency-rate']),
    latencyMs: num(values['latency-ms']),
    conflictRate: num(values['conflict-rate']),
    canceledRate: num(values['canceled-rate']),
  }),
});

// The client secret is printed only when the caller chose it (it is then theirs already);
// a generated one goes to a file beside the CA, never to the terminal or a log.
const lines = [
  `fake ARM listening`,
  `  endpoint:        ${fake.endpoint}`,
  `  ca file:         ${fake.caFile}`,
  `  authority host:  ${fake.authorityHost}`,
  `  tenant id:       ${fake.tenantId}`,
  `  client id:       ${fake.clientId}`,
  `  subscription id: ${fake.subscriptionId}`,
  `  request log:     ${fake.requestLog.path}`,
  `  admin:           ${fake.endpoint}/_fake/faults  ${fake.endpoint}/_fake/lro  ${fake.endpoint}/_fake/counters`,
  // managed identity instead of the service principal: IMDS's protocol needs no secret
  `  managed identity: AZURE_POD_IDENTITY_AUTHORITY_HOST=${fake.managedIdentity.imdsHost} (IMDS protocol; CPI property managed_identity: true${
    fake.managedIdentity.userAssigned.length > 0
      ? `, or {client_id: ${fake.managedIdentity.userAssigned.map((i) => i.clientId).join(' | ')}}`
      : ''
  })`,
];
process.stdout.write(lines.join('\n') + '\n');
if (!values['client-secret']) {
  const { writeFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const secretFile = join(dirname(fake.caFile), 'client-secret');
  writeFileSync(secretFile, fake.clientSecret + '\n', { mode: 0o600 });
  process.stdout.write(`  client secret:   in ${secretFile}\n`);
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`${signal}: stopping fake ARM\n`);
  fake.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
