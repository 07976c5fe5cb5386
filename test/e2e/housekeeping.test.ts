import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packTgz } from '../../src/release/tar.js';
import { runCli } from '../helpers/cli.js';
import { azureWorldUnavailable, RESOURCE_GROUP, startAzureWorld, type AzureWorld } from './azure-world.js';

const skip = azureWorldUnavailable();

/**
 * upload-stemcell and delete-stemcell on the Azure CPI, against the fake ARM and Azurite: a
 * heavy stemcell tarball as bosh.io ships it (stemcell.MF + `image`, itself a tgz holding
 * root.vhd) becomes a page blob and a managed image; a light one names a marketplace image.
 */

let world: AzureWorld;
const cli = (...args: string[]) => runCli(args, { cwd: world.home, env: world.env });
const NAME = 'bosh-azure-hyperv-ubuntu-jammy-go_agent';

function mf(version: string, formats: string, cloudProperties: string, image: Buffer, name = NAME): string {
  return [
    `name: ${name}`,
    `version: '${version}'`,
    'bosh_protocol: 1',
    'api_version: 3',
    `sha1: ${createHash('sha1').update(image).digest('hex')}`,
    'operating_system: ubuntu-jammy',
    `stemcell_formats: [${formats}]`,
    'cloud_properties:',
    `  name: ${name}`,
    `  version: '${version}'`,
    '  infrastructure: azure',
    '  hypervisor: hyperv',
    '  disk_format: vhd',
    '  os_type: linux',
    '  root_device_name: /dev/sda1',
    cloudProperties,
    '',
  ].join('\n');
}

async function stemcellTgz(file: string, manifest: string, image: Buffer): Promise<string> {
  const path = join(world.home, file);
  await writeFile(
    path,
    packTgz([
      { path: 'stemcell.MF', mode: 0o644, data: Buffer.from(manifest) },
      { path: 'image', mode: 0o644, data: image },
      { path: 'packages.txt', mode: 0o644, data: Buffer.from('ii  openssl 3.0.2\n') },
    ]),
  );
  return path;
}

const imageId = (name: string) =>
  `/subscriptions/${world.fake.subscriptionId}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Compute/images/${name}`;

before(async () => {
  if (skip) return;
  world = await startAzureWorld();
  const created = await cli(...world.createEnvArgs);
  assert.equal(created.code, 0, created.stderr);
});

after(async () => {
  await world?.stop();
});

test(
  'a heavy Azure stemcell: a BOSH one (bosh-agent) is refused; an image with cloud-init becomes a managed image; delete-stemcell removes it',
  { skip },
  async () => {
    const vhd = randomBytes(1024 * 1024);
    const image = packTgz([{ path: 'root.vhd', mode: 0o644, data: vhd }]);
    const bosh = await stemcellTgz(
      'bosh-stemcell-1.506-azure-hyperv-ubuntu-jammy-go_agent.tgz',
      mf('1.506', 'azure-vhd', '  generation: gen1', image),
      image,
    );
    const refused = await cli('upload-stemcell', bosh);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr + refused.stdout,
      /cloud_properties\.name 'bosh-azure-hyperv-ubuntu-jammy-go_agent' is a BOSH heavy stemcell: its bosh-agent reads custom data as BOSH settings, not cloud-init/,
    );
    assert.equal(world.fake.state.list('Microsoft.Compute/images').length, 0, 'nothing uploaded');
    const CLOUD_INIT = 'ubuntu-jammy-cloud-init';
    const path = await stemcellTgz(
      'ubuntu-jammy-cloud-init-1.506-azure.tgz',
      mf('1.506', 'azure-vhd', '  generation: gen1', image, CLOUD_INIT),
      image,
    );
    const r = await cli('upload-stemcell', path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Update stemcell: Uploading stemcell ubuntu-jammy-cloud-init\/1\.506 to the cloud/);
    const cid = /Stemcell \S+ uploaded \((bosh-stemcell-[0-9a-f-]{36})\)/.exec(r.stdout)?.[1];
    assert.ok(cid, r.stdout);
    const stored = world.fake.state.get(imageId(cid));
    assert.ok(stored, 'the fake ARM holds the managed image');
    assert.equal(stored.body.tags?.stemcell_version, '1.506');

    const listed = await cli('stemcells', '--json');
    const row = (JSON.parse(listed.stdout).Tables[0].Rows as Record<string, string>[]).find((x) => x['cid'] === cid);
    assert.deepEqual(row, { name: CLOUD_INIT, version: '1.506', os: 'ubuntu-jammy', cpi: 'azure', cid });

    const del = await cli('delete-stemcell', `${CLOUD_INIT}/1.506`, '-n');
    assert.equal(del.code, 0, del.stderr);
    assert.equal(world.fake.state.get(imageId(cid)), undefined, 'the managed image is deleted');
  },
);

test('a light Azure stemcell names its marketplace image; a format the CPI lacks is refused', { skip }, async () => {
  const empty = Buffer.alloc(0);
  const light = mf(
    '1.507',
    'azure-light',
    '  image: {publisher: Canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts, version: 22.04.202411010}',
    empty,
  );
  const r = await cli('upload-stemcell', await stemcellTgz('light-bosh-stemcell-1.507-azure.tgz', light, empty));
  assert.equal(r.code, 0, r.stderr);
  const listed = await cli('stemcells', '--json');
  const row = (JSON.parse(listed.stdout).Tables[0].Rows as Record<string, string>[]).find(
    (x) => x['version'] === '1.507',
  );
  assert.ok(row && row['cid'] !== undefined && row['cid'].includes('Canonical'), JSON.stringify(row));
  // another version naming the same marketplace image is a stemcell of its own
  const same = mf(
    '1.509',
    'azure-light',
    '  image: {publisher: Canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts, version: 22.04.202411010}',
    empty,
  );
  const second = await cli('upload-stemcell', await stemcellTgz('light-bosh-stemcell-1.509-azure.tgz', same, empty));
  assert.equal(second.code, 0, second.stderr);
  const both = (
    JSON.parse((await cli('stemcells', '--json')).stdout).Tables[0].Rows as Record<string, string>[]
  ).filter((x) => x['version'] === '1.507' || x['version'] === '1.509');
  assert.equal(new Set(both.map((x) => x['cid'])).size, 2, JSON.stringify(both));

  const vsphere = mf('1.508', 'vsphere-ovf', '', empty);
  const refused = await cli('upload-stemcell', await stemcellTgz('bosh-stemcell-1.508-vsphere.tgz', vsphere, empty));
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^Error: .*Stemcell '.*bosh-stemcell-1\.508-vsphere\.tgz': its formats \(vsphere-ovf\) are none the azure CPI supports \(azure-vhd, azure-light\)\n$/,
  );
});
