import { spawnSync } from 'node:child_process';
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, reference, repoRoot } from './common.js';
import { evaluateTemplate, MemoryVariableStore, StaticVariables } from '../src/manifest/variables/index.js';
import { loadYamlFile } from '../src/manifest/interpolate.js';
import { isMap, type YamlValue } from '../src/manifest/value.js';

const CF_OPS = [
  'scale-to-one-az.yml',
  'use-haproxy.yml',
  'enable-service-discovery.yml',
  'use-compiled-releases.yml',
  'azure.yml',
  'set-router-static-ips.yml',
  'use-external-blobstore.yml',
  'enable-cc-rate-limiting.yml',
  'use-latest-stemcell.yml',
  'use-s3-blobstore.yml',
];
const CFCR_AZURE_OPS = ['iaas/azure/cloud-provider.yml', 'iaas/azure/subnet.yml', 'use-vm-extensions.yml'];

/** The aims: int's work beyond Node's start-up, and generating cfcr.yml's variables. */
const AIM_INT_MS = 100;
const AIM_GENERATE_MS = 1000;

const here = dirname(fileURLToPath(import.meta.url));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const aim = (ms: number, limit: number): string => `aim < ${limit} ms: ${ms < limit ? 'met' : 'NOT met'}`;

interface Run {
  readonly medianMs: number;
  readonly maxRssMb: number;
}

/**
 * Runs each node command `runs` times, taking turns (a, b, c, a, b, c, ...), so that load from
 * other processes on the machine falls on all of them alike; wall time medians and peak RSS.
 */
function timeInTurns(commands: readonly (readonly string[])[], runs: number): Run[] {
  const times = commands.map((): number[] => []);
  const rss = commands.map(() => 0);
  for (let i = 0; i < runs; i++) {
    commands.forEach((args, j) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['--import', join(here, 'rss-report.js'), ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      times[j]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`bench command failed (${r.status}): ${args.join(' ')}\n${r.stderr}`);
      const m = /^RSS_KB=(\d+)$/m.exec(r.stderr);
      if (m) rss[j] = Math.max(rss[j]!, Number(m[1]) / 1024);
    });
  }
  return commands.map((_, j) => ({ medianMs: median(times[j]!), maxRssMb: rss[j]! }));
}

/** The RSA key sizes in a generated store: what node:crypto alone has to make for it. */
function keySizes(store: Map<string, YamlValue>, certificateBits: number): number[] {
  const sizes: number[] = [];
  for (const v of store.values()) {
    if (!isMap(v) || !v.has('private_key')) continue;
    sizes.push(v.has('certificate') ? certificateBits : 2048);
  }
  return sizes;
}

function keysConcurrently(sizes: readonly number[]): Promise<unknown> {
  return Promise.all(
    sizes.map(
      (bits) =>
        new Promise((resolve, reject) =>
          generateKeyPair('rsa', { modulusLength: bits }, (err, pub) => (err ? reject(err) : resolve(pub))),
        ),
    ),
  );
}

/**
 * `director int` against Node's own start-up, measured in the same run: the difference is the
 * work the director does; the ratio says how much slower than an empty Node it is.
 */
export async function benchInt(runs = 9): Promise<string[]> {
  const director = join(repoRoot, 'bin', 'director.js');
  const kubo = join(reference, 'kubo-deployment', 'manifests');
  const [baseline, cf, cfcr] = timeInTurns(
    [
      ['-e', '0'],
      [
        director,
        'int',
        join(reference, 'cf-deployment', 'cf-deployment.yml'),
        ...CF_OPS.flatMap((o) => ['-o', join(reference, 'cf-deployment', 'operations', o)]),
      ],
      [director, 'int', join(kubo, 'cfcr.yml'), ...CFCR_AZURE_OPS.flatMap((o) => ['-o', join(kubo, 'ops-files', o)])],
    ],
    runs,
  ) as [Run, Run, Run];
  const beyond = (r: Run) => r.medianMs - baseline.medianMs;
  const lines = [
    `int: node start-up (baseline)                 ${fmt(baseline.medianMs)} ms, ${fmt(baseline.maxRssMb)} MB peak`,
    `int: cf-deployment + ${CF_OPS.length} operations             ${fmt(cf.medianMs)} ms (${fmt(beyond(cf))} ms beyond start-up, ratio ${fmt(cf.medianMs / baseline.medianMs, 2)}; ${aim(beyond(cf), AIM_INT_MS)}), ${fmt(cf.maxRssMb)} MB peak`,
    `int: cfcr.yml + azure ops-files               ${fmt(cfcr.medianMs)} ms (${fmt(beyond(cfcr))} ms beyond start-up, ratio ${fmt(cfcr.medianMs / baseline.medianMs, 2)}), ${fmt(cfcr.maxRssMb)} MB peak`,
  ];

  // Generating every variable cfcr.yml declares, against two floors made of the same RSA keys by
  // node:crypto alone: one after the other, and all at once on libuv's pool (what the machine's
  // cores allow; no generator can beat it).
  const doc = loadYamlFile(join(kubo, 'cfcr.yml'), repoRoot);
  const genRuns = 3;
  for (const [label, bits] of [
    ["bosh-cli's 3072-bit certificates", 3072],
    ["CredHub's 2048-bit default (deploy's config server)", 2048],
  ] as const) {
    const gen: number[] = [];
    let sizes: number[] = [];
    for (let i = 0; i < genRuns; i++) {
      const store = new MemoryVariableStore();
      const t0 = performance.now();
      await evaluateTemplate(doc, { vars: new StaticVariables([]), store, defaultCertificateKeyLength: bits });
      gen.push(performance.now() - t0);
      const values = new Map<string, YamlValue>();
      for (const n of await store.names()) values.set(n, (await store.get(n))!);
      sizes = keySizes(values, bits);
    }
    const serial: number[] = [];
    const parallel: number[] = [];
    for (let i = 0; i < genRuns; i++) {
      let t0 = performance.now();
      for (const b of sizes) generateKeyPairSync('rsa', { modulusLength: b });
      serial.push(performance.now() - t0);
      t0 = performance.now();
      await keysConcurrently(sizes);
      parallel.push(performance.now() - t0);
    }
    const g = median(gen);
    const p = median(parallel);
    lines.push(
      `vars: generate every cfcr.yml variable, ${label}: ${fmt(g)} ms (${sizes.length} keys; node:crypto alone ${fmt(median(serial))} ms serially, ${fmt(p)} ms concurrently, ratio ${fmt(g / p, 2)}; ${aim(g, AIM_GENERATE_MS)})`,
    );
  }

  // What the aim names: `director int cfcr.yml --vars-store` from a fresh store, start-up included.
  const store = mkdtempSync(join(tmpdir(), 'bench-vars-store-'));
  try {
    const cli: number[] = [];
    for (let i = 0; i < genRuns; i++) {
      const path = join(store, `creds-${i}.yml`);
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [director, 'int', join(kubo, 'cfcr.yml'), '--vars-store', path], {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      cli.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`bench command failed (${r.status}): int --vars-store\n${r.stderr}`);
    }
    lines.push(
      `vars: director int cfcr.yml --vars-store (fresh, 3072-bit certificates): ${fmt(median(cli))} ms wall, start-up included`,
    );
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
  return lines;
}
