import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { fmt, reference, repoRoot, timeNode } from './common.js';
import { evaluateTemplate, MemoryVariableStore, StaticVariables } from '../src/manifest/variables/index.js';
import { loadYamlFile } from '../src/manifest/interpolate.js';

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

/**
 * `director int` against Node's own start-up, measured in the same run: the difference is the
 * work the director does; the ratio says how much slower than an empty Node it is.
 */
export async function benchInt(runs = 9): Promise<string[]> {
  const director = join(repoRoot, 'bin', 'director.js');
  const baseline = timeNode(['-e', '0'], runs);
  const cf = timeNode([director, 'int', join(reference, 'cf-deployment', 'cf-deployment.yml'), ...CF_OPS.flatMap((o) => ['-o', join(reference, 'cf-deployment', 'operations', o)])], runs);
  const kubo = join(reference, 'kubo-deployment', 'manifests');
  const cfcr = timeNode([director, 'int', join(kubo, 'cfcr.yml'), ...CFCR_AZURE_OPS.flatMap((o) => ['-o', join(kubo, 'ops-files', o)])], runs);
  const lines = [
    `int: node start-up (baseline)                 ${fmt(baseline.medianMs)} ms, ${fmt(baseline.maxRssMb)} MB peak`,
    `int: cf-deployment + ${CF_OPS.length} operations             ${fmt(cf.medianMs)} ms (${fmt(cf.medianMs - baseline.medianMs)} ms beyond start-up, ratio ${fmt(cf.medianMs / baseline.medianMs, 2)}), ${fmt(cf.maxRssMb)} MB peak`,
    `int: cfcr.yml + azure ops-files               ${fmt(cfcr.medianMs)} ms (${fmt(cfcr.medianMs - baseline.medianMs)} ms beyond start-up, ratio ${fmt(cfcr.medianMs / baseline.medianMs, 2)}), ${fmt(cfcr.maxRssMb)} MB peak`,
  ];

  // Generating every variable cfcr.yml declares, against the floor: the same number of RSA keys
  // made serially by node:crypto alone.
  const doc = loadYamlFile(join(kubo, 'cfcr.yml'), repoRoot);
  const genRuns = 3;
  const gen: number[] = [];
  let keys = 0;
  for (let i = 0; i < genRuns; i++) {
    const store = new MemoryVariableStore();
    const t0 = performance.now();
    await evaluateTemplate(doc, { vars: new StaticVariables([]), store });
    gen.push(performance.now() - t0);
    keys = 0;
    for (const n of await store.names()) {
      const v = await store.get(n);
      if (v instanceof Map && (v.has('private_key'))) keys++;
    }
  }
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) generateKeyPairSync('rsa', { modulusLength: 2048 });
  const floor = performance.now() - t0;
  gen.sort((a, b) => a - b);
  const g = gen[Math.floor(gen.length / 2)]!;
  lines.push(`vars: generate every cfcr.yml variable        ${fmt(g)} ms (${keys} keys, bosh-cli's 3072-bit certificates; serial node:crypto floor ${fmt(floor)} ms, ratio ${fmt(g / floor, 2)})`);
  // The deploy-time config server generates certificates as CredHub does: 2048-bit by default.
  const credhub: number[] = [];
  for (let i = 0; i < genRuns; i++) {
    const t1 = performance.now();
    await evaluateTemplate(doc, { vars: new StaticVariables([]), store: new MemoryVariableStore(), defaultCertificateKeyLength: 2048 });
    credhub.push(performance.now() - t1);
  }
  credhub.sort((a, b) => a - b);
  lines.push(`vars: the same with CredHub's 2048-bit default  ${fmt(credhub[Math.floor(credhub.length / 2)]!)} ms (what deploy's config server does)`);
  return lines;
}
