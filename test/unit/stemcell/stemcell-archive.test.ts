import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { formatErrorChain } from '../../../src/errors.js';
import { packTgz } from '../../../src/release/tar.js';
import { readStemcell } from '../../../src/stemcell/stemcell-archive.js';
import { parseStemcellManifest } from '../../../src/stemcell/stemcell-manifest.js';
import { pickUnused } from '../../../src/stemcell/usage.js';

let dir: string;
let n = 0;
const scratch = async () => {
  const s = join(dir, `scratch-${n++}`);
  await mkdir(s);
  return s;
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-stemcell-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MF =
  'name: bosh-azure-hyperv-ubuntu-jammy-go_agent\nversion: 1.506\noperating_system: ubuntu-jammy\nstemcell_formats: [azure-vhd]\ncloud_properties: {generation: gen2}\n';

test('a tarball made by GNU tar (./ entries, several MiB of image) is read in one pass; the image keeps its bytes', async () => {
  const src = join(dir, 'src');
  await mkdir(src);
  const image = randomBytes(3 * 1024 * 1024 + 123);
  await writeFile(join(src, 'image'), image);
  await writeFile(join(src, 'stemcell.MF'), `${MF}sha1: ${createHash('sha1').update(image).digest('hex')}\n`);
  await writeFile(join(src, 'packages.txt'), 'ii openssl\n');
  const tgz = join(dir, 'gnu.tgz');
  await promisify(execFile)('tar', ['-czf', tgz, '-C', src, '.']);
  const s = await scratch();
  const st = await readStemcell(tgz, s);
  assert.equal(st.manifest.name, 'bosh-azure-hyperv-ubuntu-jammy-go_agent');
  assert.equal(st.manifest.version, '1.506');
  assert.deepEqual(st.manifest.cloudProperties, { generation: 'gen2' });
  assert.equal(st.imagePath, join(s, 'image'));
  assert.ok((await readFile(st.imagePath)).equals(image));
  assert.equal(st.imageSize, image.length);
});

test('only stemcell.MF and image are written: other entries, even ../ ones, are skipped', async () => {
  const tgz = join(dir, 'sneaky.tgz');
  await writeFile(
    tgz,
    packTgz([
      { path: 'stemcell.MF', mode: 0o644, data: Buffer.from(MF) },
      { path: 'image', mode: 0o644, data: Buffer.from('img') },
      { path: '../escaped', mode: 0o644, data: Buffer.from('x') },
      { path: `${'d'.repeat(120)}/long-name-in-ustar-prefix`, mode: 0o644, data: Buffer.from('y') },
    ]),
  );
  const s = await scratch();
  await readStemcell(tgz, s);
  await assert.rejects(readFile(join(dir, 'escaped')));
});

test('broken archives: each is one line naming the file and what is wrong', async () => {
  const good = packTgz([
    { path: 'stemcell.MF', mode: 0o644, data: Buffer.from(MF) },
    { path: 'image', mode: 0o644, data: randomBytes(4096) },
  ]);
  const cases: [string, Buffer, RegExp][] = [
    [
      'truncated.tgz',
      good.subarray(0, good.length - 40),
      /: it is not a valid gzip stream \(unexpected end of file\)$/,
    ],
    ['cut-tar.tgz', gzipSync(packTgzRaw().subarray(0, 1536)), /: it is truncated \(in 'image'\)$/],
    [
      'no-mf.tgz',
      packTgz([{ path: 'image', mode: 0o644, data: Buffer.from('') }]),
      /: the archive holds no 'stemcell\.MF'$/,
    ],
    [
      'bad-yaml.tgz',
      packTgz([
        { path: 'stemcell.MF', mode: 0o644, data: Buffer.from('name: [x\n') },
        { path: 'image', mode: 0o644, data: Buffer.from('') },
      ]),
      /stemcell\.MF/,
    ],
  ];
  for (const [file, data, expected] of cases) {
    const path = join(dir, file);
    await writeFile(path, data);
    const err = await readStemcell(path, await scratch()).then(
      () => assert.fail(`${file} was accepted`),
      (e: unknown) => formatErrorChain(e),
    );
    assert.ok(err.startsWith(`Stemcell '${path}': `), err);
    assert.doesNotMatch(err, /\n/);
    assert.match(err, expected);
  }
  const missing = await readStemcell(join(dir, 'nope.tgz'), dir).catch((e: unknown) => formatErrorChain(e));
  assert.equal(missing, `Stemcell '${join(dir, 'nope.tgz')}': no such file or folder`);
});

/** An uncompressed tar of a manifest and a 4 KiB image. */
function packTgzRaw(): Buffer {
  return gunzipSync(
    packTgz([
      { path: 'stemcell.MF', mode: 0o644, data: Buffer.from(MF) },
      { path: 'image', mode: 0o644, data: randomBytes(4096) },
    ]),
  );
}

test('stemcell.MF: versions keep their text; every problem names its key', () => {
  assert.equal(
    parseStemcellManifest('name: s\nversion: 3586.10\noperating_system: ubuntu-trusty\n', 'stemcell.MF').version,
    '3586.10',
  );
  assert.equal(
    parseStemcellManifest("name: s\nversion: '621.125'\noperating_system: ubuntu-xenial\n", 'stemcell.MF').version,
    '621.125',
  );
  assert.equal(
    parseStemcellManifest(`name: s\nversion: 1\noperating_system: o\nsha1: ${'1'.repeat(40)}\n`, 'stemcell.MF').sha1,
    '1'.repeat(40),
  );
  const problems: [string, string][] = [
    ['version: 1\noperating_system: o\n', "'name' must be a non-empty string, found nothing"],
    ['name: s\nversion: 1\n', "'operating_system' must be a non-empty string, found nothing"],
    ['name: s\nversion: [1]\noperating_system: o\n', "'version' must be a string or a number, found [1]"],
    [
      'name: s\nversion: 1\noperating_system: o\ncloud_properties: [a]\n',
      '\'cloud_properties\' must be a map, found ["a"]',
    ],
    [
      'name: s\nversion: 1\noperating_system: o\nsha1: abc\n',
      "'sha1' must be a sha1 (40 hex digits) or 'sha256:<64 hex digits>', found \"abc\"",
    ],
    [
      'name: s\nversion: 1\noperating_system: o\nstemcell_formats: azure-vhd\n',
      '\'stemcell_formats\' must be a list of strings, found "azure-vhd"',
    ],
    ['- a\n', 'expected a map, found ["a"]'],
  ];
  for (const [text, message] of problems)
    assert.throws(() => parseStemcellManifest(text, 'stemcell.MF'), { message }, text);
});

test("clean-up's picker: per name, unused versions oldest first, the newest `keep` spared, used ones never", () => {
  const items = ['1', '2', '10', '3', '9.1']
    .map((version) => ({ name: 'a', version }))
    .concat([{ name: 'b', version: '1' }]);
  const used = (i: { name: string; version: string }) => i.name === 'a' && i.version === '2';
  assert.deepEqual(
    pickUnused(items, used, 2).map((i) => `${i.name}/${i.version}`),
    ['a/1', 'a/3'],
  );
  assert.deepEqual(
    pickUnused(items, used, 0).map((i) => `${i.name}/${i.version}`),
    ['a/1', 'a/3', 'a/9.1', 'a/10', 'b/1'],
  );
});
